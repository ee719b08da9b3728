package translog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// admitPrefixed admits entries starting with "ok".
var admitPrefixed = AdmitFunc(func(e []byte) error {
	if bytes.HasPrefix(e, []byte("ok")) {
		return nil
	}
	if bytes.HasPrefix(e, []byte("{")) {
		return errors.New("envelope: truncated JSON")
	}
	return fmt.Errorf("%w: not signed by a key of a served policy", ErrNotAdmitted)
})

func newServer(t testing.TB) (*Store, *Client, *httptest.Server) {
	t.Helper()
	s, _ := newStore(t)
	seq := NewSequencer(s, DefaultMaxPending, DefaultMaxBatch)
	t.Cleanup(seq.Close)
	srv := httptest.NewServer(NewServer(s, seq, admitPrefixed).Handler())
	t.Cleanup(srv.Close)
	c, err := NewClient(srv.URL, s.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	return s, c, srv
}

func TestAddAndFetch(t *testing.T) {
	_, c, _ := newServer(t)
	ctx := context.Background()
	first, err := c.Checkpoint(ctx)
	if err != nil || first.Size != 0 {
		t.Fatalf("empty log: %v", err)
	}
	var wg sync.WaitGroup
	indexes := make([]int64, 40)
	for i := range indexes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, cp, err := c.Add(ctx, []byte(fmt.Sprintf("ok %d", i)))
			if err != nil {
				t.Error(err)
				return
			}
			if p.Index >= cp.Size {
				t.Errorf("proof index %d outside checkpoint %d", p.Index, cp.Size)
			}
			indexes[i] = p.Index
		}()
	}
	wg.Wait()
	// Same bytes, same index.
	p, _, err := c.Add(ctx, []byte("ok 7"))
	if err != nil || p.Index != indexes[7] {
		t.Fatalf("re-adding: index %d, want %d (%v)", p.Index, indexes[7], err)
	}
	latest, err := c.Update(ctx, first)
	if err != nil || latest.Size != 40 {
		t.Fatalf("update: %v (size %d)", err, latest.Size)
	}
	mid := latest.Checkpoint
	if err := c.CheckConsistency(ctx, first.Checkpoint, mid); err != nil {
		t.Fatal(err)
	}
	entries, err := c.Entries(ctx, 0, 40, latest.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	for i, idx := range indexes {
		if string(entries[idx]) != fmt.Sprintf("ok %d", i) {
			t.Fatalf("entry %d is %q", idx, entries[idx])
		}
	}
	if _, err := c.InclusionProof(ctx, indexes[3], LeafHash([]byte("ok 3")), latest.Checkpoint); err != nil {
		t.Fatal(err)
	}
}

func TestHTTPErrors(t *testing.T) {
	_, _, srv := newServer(t)
	post := func(body []byte) (int, string) {
		resp, err := http.Post(srv.URL+"/add", "application/octet-stream", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	get := func(path string) int {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tt := range []struct {
		body   []byte
		status int
		msg    string
	}{
		{[]byte("spam"), 403, "not signed by a key of a served policy"},
		{[]byte("{"), 400, "truncated JSON"},
		{nil, 400, "empty body"},
		{append([]byte("ok"), make([]byte, MaxEntrySize)...), 413, "larger than"},
	} {
		if status, msg := post(tt.body); status != tt.status || !strings.Contains(msg, tt.msg) {
			t.Errorf("POST %.10q: %d %q, want %d %q", tt.body, status, msg, tt.status, tt.msg)
		}
	}
	post([]byte("ok 1"))
	for path, want := range map[string]int{
		"/checkpoint":                     200,
		"/tile/0/000.p/1":                 200,
		"/tile/entries/000.p/1":           200,
		"/tile/0/000.p/2":                 404,
		"/tile/0/000":                     404,
		"/tile/0/0000":                    400,
		"/tile/00/000.p/1":                400,
		"/proof/inclusion?index=0&size=1": 200,
		"/proof/inclusion?index=1&size=1": 400,
		"/proof/inclusion?index=0&size=2": 404,
		"/proof/inclusion?index=x&size=1": 400,
		"/proof/consistency?old=0&new=1":  200,
		"/proof/consistency?old=2&new=1":  400,
	} {
		if got := get(path); got != want {
			t.Errorf("GET %s: %d, want %d", path, got, want)
		}
	}
}

// lyingLog serves a real log's answers but rewrites one thing.
func TestClientCatchesALyingLog(t *testing.T) {
	s, honest, _ := newServer(t)
	ctx := context.Background()
	for i := range 10 {
		honest.Add(ctx, []byte(fmt.Sprintf("ok %d", i)))
	}
	old, _ := honest.Checkpoint(ctx)
	honest.Add(ctx, []byte("ok 10"))
	lie := func(rewrite func(path string, b []byte) []byte) *Client {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			resp, err := http.Get(honest.URL + r.URL.String())
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			w.Write(rewrite(r.URL.Path, b))
		}))
		t.Cleanup(srv.Close)
		c, _ := NewClient(srv.URL, s.VerifierKey())
		return c
	}
	flipProof := lie(func(path string, b []byte) []byte {
		if strings.HasPrefix(path, "/proof/") {
			return bytes.Replace(b, []byte("A"), []byte("B"), 1)
		}
		return b
	})
	if _, err := flipProof.Update(ctx, old); !errors.Is(err, ErrConsistency) {
		t.Errorf("altered consistency proof: %v", err)
	}
	otherEntry := lie(func(path string, b []byte) []byte {
		if strings.HasPrefix(path, "/tile/entries/") {
			return bytes.Replace(b, []byte("ok 3"), []byte("ok 4"), 1)
		}
		return b
	})
	cp, _ := honest.Checkpoint(ctx)
	if _, err := otherEntry.Entries(ctx, 0, 11, cp.Checkpoint); !errors.Is(err, ErrInclusion) {
		t.Errorf("altered entry bundle: %v", err)
	}
	unsigned := lie(func(path string, b []byte) []byte {
		return bytes.Replace(b, []byte("\n11\n"), []byte("\n12\n"), 1)
	})
	if _, err := unsigned.Checkpoint(ctx); !errors.Is(err, ErrSignature) {
		t.Errorf("altered checkpoint: %v", err)
	}
}
