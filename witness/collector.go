package witness

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"ssms.dev/ssms/translog"
)

// Collector is the log side of C2SP tlog-witness: it sends each new
// checkpoint, with a consistency proof from the size each witness last
// cosigned, to every witness, and attaches the cosignatures that verify
// against a known witness key. A witness that fails is skipped for
// Backoff, so a dead witness costs one timeout, not one per checkpoint.
//
// Whatever the witnesses answer, the checkpoint carries at most one
// cosignature per known key (the newest), within the limits of a signed
// note: one witness that answers with many valid lines cannot push the
// note past what sumdb/note opens and so strip the others' cosignatures.
type Collector struct {
	remotes []*remote
	known   []note.Verifier
	// Quorum, if > 0, ends a round as soon as that many witnesses cosigned;
	// slower witnesses still get the checkpoint, their answer comes too late.
	Quorum   int
	Timeout  time.Duration
	Backoff  time.Duration
	HTTP     *http.Client
	OnResult func(url string, err error) // for logs and metrics; may be nil
}

// ErrBackedOff is the result for a witness skipped after a recent failure.
var ErrBackedOff = errors.New("skipped after a recent failure")

// maxCosignatures keeps a cosigned checkpoint openable: sumdb/note opens
// at most 100 signatures, and one is the log's.
const maxCosignatures = 99

type remote struct {
	url string
	mu  sync.Mutex
	// size is the witness's latest cosigned size, as far as we know.
	size      int64
	failUntil time.Time
}

// NewCollector sends checkpoints to the witnesses at urls and keeps the
// cosignatures that verify under one of witnessVKeys. A key listed more
// than once (a log serving the old and the new policy during a rotation)
// is one key: sumdb/note refuses a verifier list with the same key twice
// as ambiguous, which would drop every cosignature.
func NewCollector(urls, witnessVKeys []string) (*Collector, error) {
	c := &Collector{Timeout: 5 * time.Second, Backoff: 30 * time.Second, HTTP: &http.Client{}}
	for _, u := range urls {
		c.remotes = append(c.remotes, &remote{url: strings.TrimSuffix(u, "/")})
	}
	seen := map[string]bool{}
	for _, vk := range witnessVKeys {
		v, err := NewVerifier(vk)
		if err != nil {
			return nil, err
		}
		// The vkey parsed, so it is name+hash+base64; compare the key bytes.
		_, key, _ := strings.Cut(vk[len(v.Name())+1:], "+")
		raw, err := base64.StdEncoding.DecodeString(key)
		if err != nil {
			return nil, fmt.Errorf("witness vkey %q: %w", vk, err)
		}
		id := v.Name() + "\n" + string(raw)
		if seen[id] {
			continue
		}
		seen[id] = true
		c.known = append(c.known, v)
	}
	return c, nil
}

// Cosign implements translog.Cosigner: it returns cp with every
// cosignature collected within Timeout appended.
func (c *Collector) Cosign(ctx context.Context, cp *translog.SignedCheckpoint, prove func(old int64) ([]tlog.Hash, error)) ([]byte, error) {
	// Requests run on their own deadline: returning early at the quorum must
	// not cancel the stragglers (a cancelled witness would be backed off).
	reqCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.Timeout)
	results := make(chan []cosignature, len(c.remotes))
	var wg sync.WaitGroup
	for _, r := range c.remotes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := c.ask(reqCtx, r, cp, prove)
			if c.OnResult != nil {
				c.OnResult(r.url, err)
			}
			results <- l
		}()
	}
	go func() { wg.Wait(); cancel() }()
	got := map[int]cosignature{} // by index in c.known: the newest
	for range c.remotes {
		var cs []cosignature
		select {
		case cs = <-results:
		case <-reqCtx.Done():
			return c.attach(cp, got), nil
		case <-ctx.Done():
			return c.attach(cp, got), nil
		}
		for _, s := range cs {
			if old, ok := got[s.key]; !ok || s.time.After(old.time) {
				got[s.key] = s
			}
		}
		if c.Quorum > 0 && len(got) >= c.Quorum {
			break
		}
	}
	return c.attach(cp, got), nil
}

// cosignature is one verified line and the known key it verified under.
type cosignature struct {
	key  int // index in Collector.known
	line string
	time time.Time
}

// attach puts on cp one cosignature per known key, in the order of the
// keys, while the note stays within sumdb/note's and translog's limits. A
// new line replaces the line by the same key that cp already carries (an
// earlier round's): cp is the published checkpoint, re-cosigned hourly
// when the log is idle, and appending would grow it until it no longer
// opens.
func (c *Collector) attach(cp *translog.SignedCheckpoint, got map[int]cosignature) []byte {
	out := translog.OneSignaturePerKey(cp.Raw)
	for i := range c.known {
		s, ok := got[i]
		if !ok {
			continue
		}
		next := translog.ReplaceSignatures(out, s.line)
		if strings.Count(string(next), "\n— ") > 1+maxCosignatures || len(next) > translog.MaxCheckpointSize {
			continue
		}
		out = next
	}
	return out
}

// ask gets one witness's cosignature, retrying once with the size a 409
// reports.
func (c *Collector) ask(ctx context.Context, r *remote, cp *translog.SignedCheckpoint, prove func(old int64) ([]tlog.Hash, error)) ([]cosignature, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Now().Before(r.failUntil) {
		return nil, fmt.Errorf("witness %s: %w", r.url, ErrBackedOff)
	}
	for attempt := 0; attempt < 2; attempt++ {
		lines, size, err := c.post(ctx, r, cp, prove)
		if err == nil {
			r.size = cp.Size
			return lines, nil
		}
		if size < 0 {
			r.failUntil = time.Now().Add(c.Backoff)
			return nil, err
		}
		r.size = size // a 409: the witness told us its size; retry from there
	}
	r.failUntil = time.Now().Add(c.Backoff)
	return nil, fmt.Errorf("witness %s: still in conflict after a retry", r.url)
}

// post sends one add-checkpoint. On a 409 it returns the witness's size;
// otherwise size is -1 on error.
func (c *Collector) post(ctx context.Context, r *remote, cp *translog.SignedCheckpoint, prove func(old int64) ([]tlog.Hash, error)) ([]cosignature, int64, error) {
	old := r.size
	if old > cp.Size {
		return nil, -1, fmt.Errorf("witness %s has size %d, larger than the log's %d", r.url, old, cp.Size)
	}
	hashes, err := prove(old)
	if err != nil {
		return nil, -1, err
	}
	var body bytes.Buffer
	fmt.Fprintf(&body, "old %d\n", old)
	for _, h := range hashes {
		body.WriteString(translog.EncodeHash(h) + "\n")
	}
	body.WriteString("\n")
	body.Write(cp.Raw)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url+"/add-checkpoint", &body)
	if err != nil {
		return nil, -1, err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, -1, fmt.Errorf("witness %s: %w", r.url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, -1, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return c.verified(cp, b), 0, nil
	case http.StatusConflict:
		size, err := strconv.ParseInt(strings.TrimSuffix(string(b), "\n"), 10, 64)
		if err != nil || size < 0 {
			return nil, -1, fmt.Errorf("witness %s: 409 without a size", r.url)
		}
		return nil, size, fmt.Errorf("witness %s has size %d", r.url, size)
	}
	return nil, -1, fmt.Errorf("witness %s answered %d: %s", r.url, resp.StatusCode, strings.TrimSpace(string(b)))
}

// verified keeps the signature lines of resp that are valid cosignatures of
// cp by a known witness. Each line is tried against each key on its own, so
// two keys that share a name and key hash cannot make a line ambiguous; a
// key that does not match the line's name and hash costs no signature check.
func (c *Collector) verified(cp *translog.SignedCheckpoint, resp []byte) []cosignature {
	var out []cosignature
	for _, line := range strings.SplitAfter(string(resp), "\n") {
		if !strings.HasSuffix(line, "\n") || !strings.HasPrefix(line, "— ") {
			continue
		}
		for i, v := range c.known {
			if l, ok := verifyLine([]byte(cp.Note.Text+"\n"+line), line, note.VerifierList(v)); ok {
				out = append(out, cosignature{key: i, line: line, time: l.time})
				break
			}
		}
	}
	return out
}
