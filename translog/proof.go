package translog

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"

	"ssms.dev/ssms/internal/b64"
)

// ProofHeader is the first line of a C2SP tlog-proof.
const ProofHeader = "c2sp.org/tlog-proof@v1"

// Limits on proofs.
const (
	MaxProofSize   = 32 << 10
	maxProofHashes = 64 // enough for a log of 2^64 entries
)

// ErrProofFormat reports a malformed tlog-proof.
var ErrProofFormat = errors.New("malformed tlog-proof")

// Proof is a C2SP tlog-proof@v1: an offline-verifiable statement that the
// entry at Index is in the tree of the signed Checkpoint.
//
//	c2sp.org/tlog-proof@v1
//	[extra <base64>]
//	index <decimal>
//	<base64 hash>        (zero or more: the RFC 6962 inclusion proof)
//	<blank line>
//	<the signed checkpoint, verbatim>
type Proof struct {
	Extra      []byte // unauthenticated; nil when absent
	Index      int64
	Hashes     []tlog.Hash
	Checkpoint []byte // signed note
}

// Marshal encodes p.
func (p *Proof) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString(ProofHeader + "\n")
	if p.Extra != nil {
		b.WriteString("extra " + base64.StdEncoding.EncodeToString(p.Extra) + "\n")
	}
	fmt.Fprintf(&b, "index %d\n", p.Index)
	for _, h := range p.Hashes {
		b.WriteString(encodeHash(h) + "\n")
	}
	b.WriteString("\n")
	b.Write(p.Checkpoint)
	return b.Bytes()
}

// ParseProof decodes a tlog-proof, accepting only the canonical form.
// The checkpoint is not verified here; see VerifyProof.
func ParseProof(data []byte) (*Proof, error) {
	bad := func(format string, args ...any) (*Proof, error) {
		return nil, fmt.Errorf("%w: %s", ErrProofFormat, fmt.Sprintf(format, args...))
	}
	if len(data) > MaxProofSize {
		return bad("over %d bytes", MaxProofSize)
	}
	head, checkpoint, ok := bytes.Cut(data, []byte("\n\n"))
	if !ok {
		return bad("no blank line before the checkpoint")
	}
	lines := strings.Split(string(head), "\n")
	if lines[0] != ProofHeader {
		return bad("first line is not %q", ProofHeader)
	}
	lines = lines[1:]
	p := &Proof{Checkpoint: checkpoint}
	if len(lines) > 0 && strings.HasPrefix(lines[0], "extra ") {
		extra, err := b64.Std(strings.TrimPrefix(lines[0], "extra "))
		if err != nil {
			return bad("extra data is not standard base64")
		}
		p.Extra, lines = extra, lines[1:]
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "index ") {
		return bad("missing index line")
	}
	idx := strings.TrimPrefix(lines[0], "index ")
	n, err := strconv.ParseInt(idx, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != idx {
		return bad("index %q is not a canonical decimal number", idx)
	}
	p.Index = n
	if p.Hashes, err = parseHashes(lines[1:]); err != nil {
		return bad("%v", err)
	}
	return p, nil
}

func encodeHash(h tlog.Hash) string { return base64.StdEncoding.EncodeToString(h[:]) }

// parseHashes decodes proof lines, one standard base64 hash each.
func parseHashes(lines []string) ([]tlog.Hash, error) {
	if len(lines) > maxProofHashes {
		return nil, fmt.Errorf("more than %d proof hashes", maxProofHashes)
	}
	hashes := make([]tlog.Hash, 0, len(lines))
	for i, l := range lines {
		h, err := b64.Std(l)
		if err != nil || len(h) != tlog.HashSize {
			return nil, fmt.Errorf("proof line %d is not standard base64 of a SHA-256 hash", i+1)
		}
		hashes = append(hashes, tlog.Hash(h))
	}
	return hashes, nil
}

// ParseHashLines decodes proof lines, one standard base64 SHA-256 hash each.
func ParseHashLines(lines []string) ([]tlog.Hash, error) { return parseHashes(lines) }

// EncodeHash encodes a hash as a proof line (without the newline).
func EncodeHash(h tlog.Hash) string { return encodeHash(h) }
