package translog

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"ssms.dev/ssms/internal/b64"
	"ssms.dev/ssms/internal/vkey"
)

// Limits on checkpoints.
const (
	MaxCheckpointSize = 16 << 10 // a signed note with room for many cosignatures
	maxExtensionLines = 16
)

// Checkpoint is the body of a C2SP tlog-checkpoint: the log's origin, its
// size and its root hash, and optional extension lines.
type Checkpoint struct {
	Origin     string
	Size       int64
	Hash       tlog.Hash
	Extensions []string
}

// Errors of checkpoint handling.
var (
	ErrCheckpointFormat = errors.New("malformed checkpoint")
	ErrWrongOrigin      = errors.New("checkpoint from another log")
	ErrSignature        = errors.New("checkpoint signature does not verify")
)

// Marshal returns the checkpoint body, every line ending in a newline.
func (c Checkpoint) Marshal() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\n%d\n%s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Hash[:]))
	for _, e := range c.Extensions {
		b.WriteString(e + "\n")
	}
	return b.Bytes()
}

// ParseCheckpoint parses a checkpoint body, accepting only its canonical
// form: a printable origin, the size in decimal without leading zeros, a
// standard base64 SHA-256 hash, non-empty extension lines.
func ParseCheckpoint(body []byte) (Checkpoint, error) {
	bad := func(format string, args ...any) (Checkpoint, error) {
		return Checkpoint{}, fmt.Errorf("%w: %s", ErrCheckpointFormat, fmt.Sprintf(format, args...))
	}
	if len(body) > MaxCheckpointSize || !utf8.Valid(body) {
		return bad("over %d bytes or not UTF-8", MaxCheckpointSize)
	}
	if !bytes.HasSuffix(body, []byte("\n")) {
		return bad("does not end in a newline")
	}
	lines := strings.Split(string(body[:len(body)-1]), "\n")
	if len(lines) < 3 {
		return bad("want origin, size and hash lines")
	}
	var c Checkpoint
	c.Origin = lines[0]
	if c.Origin == "" || strings.ContainsFunc(c.Origin, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return bad("origin line %q is empty or not printable", c.Origin)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return bad("size line %q is not a canonical decimal number", lines[1])
	}
	c.Size = size
	h, err := b64.Std(lines[2])
	if err != nil || len(h) != tlog.HashSize {
		return bad("hash line is not standard base64 of %d bytes", tlog.HashSize)
	}
	copy(c.Hash[:], h)
	if len(lines)-3 > maxExtensionLines {
		return bad("more than %d extension lines", maxExtensionLines)
	}
	for _, e := range lines[3:] {
		if e == "" {
			return bad("empty extension line")
		}
		c.Extensions = append(c.Extensions, e)
	}
	return c, nil
}

// SignedCheckpoint is a checkpoint with the signed note it came in.
type SignedCheckpoint struct {
	Checkpoint
	Note *note.Note // the opened note: verified and unverified signatures
	Raw  []byte     // the signed note, exactly as received
}

// OpenCheckpoint verifies a signed checkpoint from the log whose origin is
// origin, signed by logKey. Signatures by other keys (witnesses) are kept
// in Note.UnverifiedSigs for the caller to check.
func OpenCheckpoint(signed []byte, origin string, logKey note.Verifier) (*SignedCheckpoint, error) {
	return OpenCheckpointWith(signed, origin, note.VerifierList(logKey))
}

// OpenCheckpointWith is OpenCheckpoint with the log's key as a
// note.Verifiers made once (note.VerifierList), for callers that open
// several checkpoints of one log.
func OpenCheckpointWith(signed []byte, origin string, logKey note.Verifiers) (*SignedCheckpoint, error) {
	if len(signed) > MaxCheckpointSize {
		return nil, fmt.Errorf("%w: over %d bytes", ErrCheckpointFormat, MaxCheckpointSize)
	}
	n, err := note.Open(signed, logKey)
	if err != nil {
		var unknown *note.UnverifiedNoteError
		if errors.As(err, &unknown) {
			return nil, fmt.Errorf("%w: no signature by the log key %s", ErrSignature, origin)
		}
		return nil, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	c, err := ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return nil, err
	}
	if c.Origin != origin {
		return nil, fmt.Errorf("%w: origin %q, want %q", ErrWrongOrigin, c.Origin, origin)
	}
	return &SignedCheckpoint{Checkpoint: c, Note: n, Raw: signed}, nil
}

// NewVerifier parses a log's verifier key (name+hash+base64), refusing
// non-canonical spellings and weak keys (internal/vkey) before sumdb/note
// sees it: a small-order key would admit one signature valid for every
// checkpoint.
func NewVerifier(vk string) (note.Verifier, error) {
	if _, err := vkey.Parse(vk, vkey.AlgEd25519); err != nil {
		return nil, fmt.Errorf("log verifier key: %w", err)
	}
	v, err := note.NewVerifier(vk)
	if err != nil {
		return nil, fmt.Errorf("log verifier key: %w", err)
	}
	return v, nil
}
