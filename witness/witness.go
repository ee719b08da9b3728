package witness

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"ssms.dev/ssms/translog"
)

// Errors of add-checkpoint, each with its C2SP tlog-witness status.
var (
	ErrUnknownLog   = errors.New("unknown log")                           // 404
	ErrBadSignature = errors.New("no valid signature by the log")         // 403
	ErrMalformed    = errors.New("malformed request")                     // 400
	ErrBadProof     = errors.New("consistency proof does not verify")     // 422
	ErrConflict     = errors.New("old size does not match the witness's") // 409, see ConflictError
)

// ConflictError is a 409: the witness's latest cosigned size for the log.
type ConflictError struct{ Size int64 }

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%v: the witness has size %d", ErrConflict, e.Size)
}
func (e *ConflictError) Unwrap() error { return ErrConflict }

// MaxRequest bounds an add-checkpoint body.
const MaxRequest = 64 + 63*45 + translog.MaxCheckpointSize

// Witness cosigns checkpoints of the logs it knows, each only if it is
// consistent with the last one it cosigned for that log.
type Witness struct {
	cosigner *Cosigner
	logs     map[string]logKey // by origin
	state    *state
	// Warn, if set, is told what the operator must see: each request
	// refused other than with a 409 (which a log resolves by itself), and
	// each evidence file written.
	Warn func(msg string)
	// MaxBodies is how many add-checkpoint bodies Handler reads at once
	// (0: DefaultMaxBodies); it is read when Handler is called.
	MaxBodies int

	completing sync.Mutex     // completions from tiles run one at a time, in turn
	pending    sync.WaitGroup // for tests: completions in flight
	full       atomic.Bool    // warned that MaxIncomplete files are kept

	noForkMu sync.Mutex
	noFork   map[string]bool // pairs the log's tiles showed consistent
}

// maxNoFork bounds the memory of pairs shown consistent; past it the
// memory starts over, which costs only a tile read per pair again.
const maxNoFork = 1024

// MaxIncomplete bounds the .incomplete evidence files a witness keeps.
// Anyone holding two checkpoints the log signed, the witness's and a newer
// one, can send them with a garbage proof; without the log's URL the
// witness cannot tell that from a fork and keeps them. So it keeps one
// file per pair of checkpoints and at most MaxIncomplete in all: past
// that, it keeps the oldest, refuses to keep more and warns once, until
// the operator completes (ssms verify-evidence) or removes them. With the
// log's URL, a file the log's tiles show to be no fork is removed.
const MaxIncomplete = 16

func (w *Witness) warn(format string, args ...any) {
	if w.Warn != nil {
		w.Warn(fmt.Sprintf(format, args...))
	}
}

type logKey struct {
	vkey     string
	verifier note.Verifier
	client   *translog.Client // nil without the log's URL
}

// evidenceTimeout bounds reading a log's tiles to complete evidence.
const evidenceTimeout = 30 * time.Second

// New returns a witness that keeps its state in dir and cosigns for the
// given logs, each VKEY or VKEY=URL (origin = key name). With the log's
// URL, the witness can prove every fork it refuses, whatever the sizes:
// see keepEvidence.
func New(dir string, cosigner *Cosigner, logs []string) (*Witness, error) {
	w := &Witness{cosigner: cosigner, logs: map[string]logKey{}, state: &state{dir: dir}}
	for _, l := range logs {
		// The key's base64 (33 bytes) has no padding, but a name may hold
		// '=': the URL starts at "=http".
		vk, url, hasURL := l, "", false
		if i := strings.Index(l, "=http"); i >= 0 {
			vk, url, hasURL = l[:i], l[i+1:], true
		}
		v, err := translog.NewVerifier(vk)
		if err != nil {
			return nil, err
		}
		lk := logKey{vkey: vk, verifier: v}
		if hasURL {
			if lk.client, err = translog.NewClient(url, vk); err != nil {
				return nil, err
			}
		}
		w.logs[v.Name()] = lk
	}
	return w, nil
}

// AddCheckpoint handles a C2SP tlog-witness add-checkpoint request body and
// returns the cosignature line(s).
func (w *Witness) AddCheckpoint(body []byte) ([]byte, error) {
	old, hashes, signed, err := parseRequest(body)
	if err != nil {
		return nil, err
	}
	text, _, ok := bytes.Cut(signed, []byte("\n\n"))
	if !ok {
		return nil, fmt.Errorf("%w: the checkpoint is not a signed note", ErrMalformed)
	}
	c, err := translog.ParseCheckpoint(append(text, '\n'))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	log, ok := w.logs[c.Origin]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownLog, c.Origin)
	}
	cp, err := translog.OpenCheckpoint(signed, c.Origin, log.verifier)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	if old > cp.Size {
		return nil, fmt.Errorf("%w: old size %d is larger than the checkpoint's %d", ErrMalformed, old, cp.Size)
	}
	if err := w.checkAndStore(log, old, hashes, cp); err != nil {
		return nil, err
	}
	sig, err := note.Sign(&note.Note{Text: cp.Note.Text}, w.cosigner)
	if err != nil {
		return nil, err
	}
	_, line, _ := bytes.Cut(sig, []byte("\n\n"))
	return line, nil
}

// checkAndStore is the compare-and-swap: under one lock, the stored size
// must equal old and the new checkpoint must extend the stored one; only
// then is it persisted (before the cosignature is returned).
func (w *Witness) checkAndStore(log logKey, old int64, hashes []tlog.Hash, cp *translog.SignedCheckpoint) error {
	w.state.mu.Lock()
	defer w.state.mu.Unlock()
	storedRaw, err := w.state.load(cp.Origin)
	if err != nil {
		return err
	}
	var stored *translog.SignedCheckpoint
	if storedRaw != nil {
		if stored, err = translog.OpenCheckpoint(storedRaw, cp.Origin, log.verifier); err != nil {
			return fmt.Errorf("the witness's own state for %q does not verify: %w", cp.Origin, err)
		}
	}
	storedSize := int64(0)
	if stored != nil {
		storedSize = stored.Size
	}
	if old != storedSize {
		return &ConflictError{Size: storedSize}
	}
	switch {
	case stored == nil && len(hashes) != 0:
		return fmt.Errorf("%w: old size 0 takes an empty proof", ErrBadProof)
	case stored == nil:
	case stored.Size == cp.Size && stored.Hash != cp.Hash:
		w.keepEvidence(log, stored, cp, nil, "two roots for one size")
		return &ConflictError{Size: storedSize}
	default:
		if err := translog.VerifyConsistency(stored.Checkpoint, cp.Checkpoint, hashes); err != nil {
			w.keepEvidence(log, stored, cp, hashes, "inconsistent checkpoint")
			return fmt.Errorf("%w: %v", ErrBadProof, err)
		}
	}
	if stored != nil && stored.Size == cp.Size {
		return nil // the same tree again: cosign, nothing to store
	}
	return w.state.store(cp.Origin, cp.Raw)
}

// keepEvidence saves evidence of a misbehaving log. The log's proof
// proves a fork only if it rebuilds the newer signed root from a prefix
// root other than the stored one. When the stored size is a power of two,
// an RFC 6962 proof omits that root (it is the first node of the newer
// tree), and a log can always send a garbage proof. Then the two signed
// checkpoints are kept first, before the refusal is answered, as
// .incomplete evidence, which anyone who can reach the log completes (ssms
// verify-evidence --policy or --log); see MaxIncomplete for its bounds.
// Given the log's URL, the witness then completes it itself in the
// background: it reads the prefix root and a proof from the log's tiles,
// which the newer signed root authenticates. A completion that fails is a
// warning and leaves the .incomplete file.
func (w *Witness) keepEvidence(log logKey, a, b *translog.SignedCheckpoint, hashes []tlog.Hash, what string) {
	note := "witness " + w.cosigner.Name() + ": " + what
	e := translog.NewEvidence(log.vkey, a.Raw, b.Raw, hashes, note)
	if _, err := e.Check(log.vkey); err == nil {
		w.keep(e, a, b, what)
		return
	}
	if a.Size >= b.Size {
		return // cannot happen here: equal sizes prove themselves, smaller ones are refused before
	}
	w.noForkMu.Lock()
	known := w.noFork[pairKey(a, b)]
	w.noForkMu.Unlock()
	if known {
		return // the log's tiles showed this pair consistent: a bad proof, not a fork
	}
	path, isNew := w.keepIncomplete(e, a, b, what+" (unproven until completed from the log's tiles)")
	if !isNew || log.client == nil {
		return // kept before (and completed or tried then), or nobody here can complete it
	}
	w.pending.Add(1)
	go w.complete(log, a, b, path, note, what)
}

// keepIncomplete writes .incomplete evidence unless the same pair of
// checkpoints is kept already or MaxIncomplete files are; isNew reports a
// new file.
func (w *Witness) keepIncomplete(e *translog.Evidence, a, b *translog.SignedCheckpoint, what string) (path string, isNew bool) {
	path, isNew, err := w.state.incomplete(e, b.Size, pairKey(a, b))
	switch {
	case errors.Is(err, errTooManyIncomplete):
		if !w.full.Swap(true) {
			w.warn("log %s: %s, but %d incomplete evidence files are kept already; no more are kept until they are completed (ssms verify-evidence) or removed", b.Origin, what, MaxIncomplete)
		}
	case err != nil:
		w.warn("log %s: %s, but the evidence could not be kept: %v", b.Origin, what, err)
	case isNew:
		w.full.Store(false)
		w.warn("log %s: %s; evidence in %s", b.Origin, what, path)
	}
	return path, isNew
}

// pairKey names a pair of checkpoints: the older one's tree and the newer
// one's, which is what evidence about them shows.
func pairKey(a, b *translog.SignedCheckpoint) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%d\n%x\n%d\n%x\n", a.Origin, a.Size, a.Hash, b.Size, b.Hash)
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// complete tries to turn the .incomplete evidence at path into conclusive
// evidence from the log's tiles. Completions wait their turn rather than
// being dropped: each one is for a file kept, of which there are at most
// MaxIncomplete.
func (w *Witness) complete(log logKey, a, b *translog.SignedCheckpoint, path, note, what string) {
	defer w.pending.Done()
	w.completing.Lock()
	defer w.completing.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), evidenceTimeout)
	defer cancel()
	prefix, proof, err := log.client.TileConsistency(ctx, a.Size, b.Checkpoint)
	switch {
	case err != nil:
		w.warn("log %s: could not complete the evidence in %s from the log's tiles (it stays incomplete): %v", b.Origin, path, err)
	case prefix == a.Hash:
		// The tiles, authenticated by the newer signed root, show that it
		// extends the cosigned tree: only the proof was bad. No fork.
		os.Remove(path)
		w.noForkMu.Lock()
		if len(w.noFork) >= maxNoFork || w.noFork == nil {
			w.noFork = map[string]bool{}
		}
		w.noFork[pairKey(a, b)] = true
		w.noForkMu.Unlock()
		w.warn("log %s: its tiles show size %d extends the cosigned size %d; the refused proof was bad, the log is consistent: removed %s", b.Origin, b.Size, a.Size, path)
	default:
		e := translog.ForkEvidence(log.vkey, a, b, prefix, proof, note+" (prefix root from the log's tiles)")
		if _, err := e.Check(log.vkey); err != nil {
			w.warn("log %s: the evidence completed from the log's tiles does not check (%v); %s stays incomplete", b.Origin, err, path)
			return
		}
		w.keep(e, a, b, what)
		os.Remove(path)
	}
}

// keep writes conclusive evidence about a and b, once per pair, and tells
// the operator where.
func (w *Witness) keep(e *translog.Evidence, a, b *translog.SignedCheckpoint, what string) {
	path, isNew, err := w.state.evidence(e, b.Size, pairKey(a, b))
	if err != nil {
		w.warn("log %s: %s, but the evidence could not be kept: %v", b.Origin, what, err)
		return
	}
	if !isNew {
		return // the same pair again: kept and told before
	}
	w.warn("log %s: %s; evidence in %s", b.Origin, what, path)
}

// parseRequest splits "old N\n" proof lines "\n" checkpoint.
func parseRequest(body []byte) (old int64, hashes []tlog.Hash, signed []byte, err error) {
	bad := func(format string, args ...any) (int64, []tlog.Hash, []byte, error) {
		return 0, nil, nil, fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
	}
	if len(body) > MaxRequest {
		return bad("over %d bytes", MaxRequest)
	}
	head, signed, ok := bytes.Cut(body, []byte("\n\n"))
	if !ok {
		return bad("no empty line before the checkpoint")
	}
	lines := strings.Split(string(head), "\n")
	size, found := strings.CutPrefix(lines[0], "old ")
	n, err := strconv.ParseInt(size, 10, 64)
	if !found || err != nil || n < 0 || strconv.FormatInt(n, 10) != size {
		return bad("first line %q is not \"old\" and a canonical decimal size", lines[0])
	}
	if len(lines)-1 > 63 {
		return bad("more than 63 proof lines")
	}
	hashes, err = translog.ParseHashLines(lines[1:])
	if err != nil {
		return bad("%v", err)
	}
	return n, hashes, signed, nil
}
