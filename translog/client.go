package translog

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Client talks to a log and verifies everything it receives: checkpoints
// against the log key and origin, proofs against checkpoints, entries
// against proofs. A log that lies is caught here.
type Client struct {
	URL    string // the log's prefix, like http://127.0.0.1:8080
	Origin string
	VKey   string
	Key    note.Verifier
	HTTP   *http.Client

	mu   sync.Mutex
	last *SignedCheckpoint // the last checkpoint verified, by its exact bytes
}

// NewClient returns a client for the log at url with verifier key vkey;
// the origin is the key's name.
func NewClient(url, vkey string) (*Client, error) {
	v, err := NewVerifier(vkey)
	if err != nil {
		return nil, err
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64 // concurrent adds reuse connections
	return &Client{URL: strings.TrimSuffix(url, "/"), Origin: v.Name(), VKey: vkey, Key: v, HTTP: &http.Client{Timeout: time.Minute, Transport: t}}, nil
}

// open verifies a signed checkpoint, skipping the signature check for the
// exact bytes it verified last: every entry of a batch comes back with the
// same checkpoint.
func (c *Client) open(signed []byte) (*SignedCheckpoint, error) {
	c.mu.Lock()
	last := c.last
	c.mu.Unlock()
	if last != nil && bytes.Equal(last.Raw, signed) {
		return last, nil
	}
	cp, err := OpenCheckpoint(signed, c.Origin, c.Key)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.last = cp
	c.mu.Unlock()
	return cp, nil
}

// HTTPError is a non-200 answer, with the log's message.
type HTTPError struct {
	Status     int
	Message    string
	RetryAfter time.Duration
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("log answered %d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

// maxRetryWait is the longest Retry-After the client waits out by itself;
// a longer one (a key over its hourly limit) is the caller's to report.
// maxRetries bounds how often it waits, so a log that answers 503 forever
// cannot stall a monitor pass or a publish for as long as its context lasts.
const (
	maxRetryWait = 10 * time.Second
	maxRetries   = 20
)

// do sends a request and returns the body of a 200 answer of at most limit
// bytes (see limits.go), retrying while the log answers 429 or 503, at most maxRetries times.
func (c *Client) do(ctx context.Context, method, path string, body []byte, limit int64) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, c.URL+path, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		resp, err := c.HTTP.Do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			limit = maxErrorSize
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		if resp.StatusCode == http.StatusOK {
			if int64(len(b)) > limit {
				return nil, fmt.Errorf("%w: %s %s: over %d bytes", ErrResponseTooLarge, method, path, limit)
			}
			return b, nil
		}
		b = b[:min(int64(len(b)), limit)]
		herr := &HTTPError{Status: resp.StatusCode, Message: strings.TrimSpace(string(b))}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			herr.RetryAfter = time.Duration(s) * time.Second
		}
		if resp.StatusCode != http.StatusServiceUnavailable && resp.StatusCode != http.StatusTooManyRequests || herr.RetryAfter > maxRetryWait {
			return nil, herr
		}
		if attempt == maxRetries {
			return nil, fmt.Errorf("%w (still so after %d retries)", herr, maxRetries)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (%v)", herr, ctx.Err())
		case <-time.After(max(herr.RetryAfter, 100*time.Millisecond)):
		}
	}
}

// Add submits entry and returns the log's tlog-proof for it, after
// checking that the proof is signed by the log and includes entry.
//
// A log may hold an entry that says what entry says with other bytes (the
// same claim, see [Claim]) and answer with that entry's proof: then Add
// returns a *LoggedAsError with the logged bytes, verified to be in the
// log. Whether they say the same is for the caller to check; this package
// does not know what entries mean.
func (c *Client) Add(ctx context.Context, entry []byte) (*Proof, *SignedCheckpoint, error) {
	b, err := c.do(ctx, http.MethodPost, "/add", entry, MaxProofSize)
	if err != nil {
		return nil, nil, err
	}
	p, err := ParseProof(b)
	if err != nil {
		return nil, nil, fmt.Errorf("log's answer to add: %w", err)
	}
	cp, err := c.open(p.Checkpoint)
	if err != nil {
		return nil, nil, fmt.Errorf("log's answer to add: %w", err)
	}
	if err := VerifyInclusion(p.Index, cp.Size, LeafHash(entry), p.Hashes, cp.Hash); err != nil {
		logged, ferr := c.Entries(ctx, p.Index, p.Index+1, cp.Checkpoint)
		if ferr != nil || VerifyInclusion(p.Index, cp.Size, LeafHash(logged[0]), p.Hashes, cp.Hash) != nil {
			return nil, nil, fmt.Errorf("log's answer to add: %w", err)
		}
		return nil, nil, &LoggedAsError{Proof: p, Checkpoint: cp, Entry: logged[0]}
	}
	return p, cp, nil
}

// LoggedAsError is the log's answer to an addition when it holds an entry
// with the same claim: the proof is for Entry, the logged bytes.
type LoggedAsError struct {
	Proof      *Proof
	Checkpoint *SignedCheckpoint
	Entry      []byte
}

func (e *LoggedAsError) Error() string {
	return fmt.Sprintf("the log answered with entry %d, which has other bytes (it holds an entry it considers the same)", e.Proof.Index)
}

// Checkpoint fetches and verifies the latest checkpoint.
func (c *Client) Checkpoint(ctx context.Context) (*SignedCheckpoint, error) {
	b, err := c.do(ctx, http.MethodGet, "/checkpoint", nil, MaxCheckpointSize)
	if err != nil {
		return nil, err
	}
	return c.open(b)
}

// Update fetches the latest checkpoint and verifies that it is consistent
// with old (nil: nothing to check against). A *ConsistencyError is the
// evidence of a log that forked or rewrote its history.
func (c *Client) Update(ctx context.Context, old *SignedCheckpoint) (*SignedCheckpoint, error) {
	latest, err := c.Checkpoint(ctx)
	if err != nil || old == nil {
		return latest, err
	}
	if err := c.CheckConsistency(ctx, old.Checkpoint, latest.Checkpoint); err != nil {
		return nil, err
	}
	return latest, nil
}

// CheckConsistency fetches a consistency proof between two verified
// checkpoints and checks it.
func (c *Client) CheckConsistency(ctx context.Context, old, new Checkpoint) error {
	_, err := c.ConsistencyProof(ctx, old, new)
	return err
}

// ConsistencyProof fetches the consistency proof between two verified
// checkpoints and returns it once it checks (a *ConsistencyError if not).
func (c *Client) ConsistencyProof(ctx context.Context, old, new Checkpoint) ([]tlog.Hash, error) {
	var hashes []tlog.Hash
	if old.Size > 0 && old.Size < new.Size {
		b, err := c.do(ctx, http.MethodGet, fmt.Sprintf("/proof/consistency?old=%d&new=%d", old.Size, new.Size), nil, MaxHashLinesSize)
		if err != nil {
			return nil, err
		}
		if hashes, err = parseHashLines(b); err != nil {
			return nil, fmt.Errorf("log's consistency proof: %w", err)
		}
	}
	return hashes, VerifyConsistency(old, new, hashes)
}

// InclusionProof fetches and checks the proof that the entry with leaf hash
// leaf is at index in the tree of cp.
func (c *Client) InclusionProof(ctx context.Context, index int64, leaf tlog.Hash, cp Checkpoint) ([]tlog.Hash, error) {
	b, err := c.do(ctx, http.MethodGet, fmt.Sprintf("/proof/inclusion?index=%d&size=%d", index, cp.Size), nil, MaxHashLinesSize)
	if err != nil {
		return nil, err
	}
	hashes, err := parseHashLines(b)
	if err != nil {
		return nil, fmt.Errorf("log's inclusion proof: %w", err)
	}
	return hashes, VerifyInclusion(index, cp.Size, leaf, hashes, cp.Hash)
}

// Entries fetches entries [from, to) of the tree of cp through the
// tlog-tiles entry bundles, and checks each against the tree: the level-0
// tiles are verified against cp's root, and every entry against its tile.
func (c *Client) Entries(ctx context.Context, from, to int64, cp Checkpoint) ([][]byte, error) {
	if from < 0 || from > to || to > cp.Size {
		return nil, fmt.Errorf("entries [%d, %d) are not in a tree of size %d", from, to, cp.Size)
	}
	tr := &tileReader{ctx: ctx, c: c}
	var out [][]byte
	for n := from >> TileHeight; n<<TileHeight < to; n++ {
		w := int(min(cp.Size-n<<TileHeight, 1<<TileHeight))
		bundle, err := c.do(ctx, http.MethodGet, "/"+TilePath(-1, n, w), nil, MaxEntryBundleSize)
		if err != nil {
			return nil, err
		}
		entries, err := parseBundle(bundle, w)
		if err != nil {
			return nil, fmt.Errorf("entry bundle %d: %w", n, err)
		}
		leaves, err := tlog.TileHashReader(tlog.Tree{N: cp.Size, Hash: cp.Hash}, tr).ReadHashes(leafIndexes(n, w))
		if err != nil {
			return nil, fmt.Errorf("level-0 tile %d does not verify against the checkpoint: %w", n, err)
		}
		for i, e := range entries {
			idx := n<<TileHeight + int64(i)
			if LeafHash(e) != leaves[i] {
				return nil, fmt.Errorf("%w: entry %d in the bundle does not match the verified tree", ErrInclusion, idx)
			}
			if idx >= from && idx < to {
				out = append(out, e)
			}
		}
	}
	return out, nil
}

func leafIndexes(n int64, w int) []int64 {
	out := make([]int64, w)
	for i := range out {
		out[i] = tlog.StoredHashIndex(0, n<<TileHeight+int64(i))
	}
	return out
}

// parseBundle splits an entry bundle into exactly w entries.
func parseBundle(b []byte, w int) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 2 {
			return nil, fmt.Errorf("truncated length prefix")
		}
		n := int(b[0])<<8 | int(b[1])
		if len(b) < 2+n {
			return nil, fmt.Errorf("truncated entry")
		}
		out, b = append(out, b[2:2+n]), b[2+n:]
	}
	if len(out) != w {
		return nil, fmt.Errorf("%d entries, want %d", len(out), w)
	}
	return out, nil
}

func parseHashLines(b []byte) ([]tlog.Hash, error) {
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return []tlog.Hash{}, nil
	}
	return parseHashes(strings.Split(s, "\n"))
}

// tileReader fetches tiles for sumdb/tlog's TileHashReader, which checks
// them against the tree before use.
type tileReader struct {
	ctx context.Context
	c   *Client
}

func (r *tileReader) Height() int { return TileHeight }

func (r *tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		b, err := r.c.do(r.ctx, http.MethodGet, "/"+TilePath(int64(t.L), t.N, t.W), nil, MaxTileSize)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

func (r *tileReader) SaveTiles([]tlog.Tile, [][]byte) {}

// PrefixRoot computes the root of the first size entries of cp's tree from
// the log's tiles, each verified against cp's root: what the log committed
// to about its own past, whatever it signed before.
func (c *Client) PrefixRoot(ctx context.Context, size int64, cp Checkpoint) (tlog.Hash, error) {
	if size < 0 || size > cp.Size {
		return tlog.Hash{}, fmt.Errorf("size %d is not within a tree of size %d", size, cp.Size)
	}
	return tlog.TreeHash(size, tlog.TileHashReader(tlog.Tree{N: cp.Size, Hash: cp.Hash}, &tileReader{ctx: ctx, c: c}))
}
