// Package logtest is the API-level test suite that every translog.Backend
// passes: the embedded store (translog's tests) and the Trillian backend
// (translog/trillianlog's) run the same tests, over HTTP, with the same
// clients. It checks what a client can see: checkpoints and proofs that
// golang.org/x/mod/sumdb's note and tlog accept, tiles and entry bundles
// that agree with them, the same index for the same entry whichever front
// end takes it, witness cosignatures, and a follower that sees every
// checkpoint consistent with the last.
package logtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"ssms.dev/ssms/translog"
)

// Config is what a test asks of a new log.
type Config struct {
	// FrontEnds is how many front ends serve the one log (at least 1).
	FrontEnds int
	// Witness cosigns the log's checkpoints, when set.
	Witness translog.WitnessOptions
}

// NewLog makes a new, empty log and returns its front ends. The log's
// resources are released by t.Cleanup.
type NewLog func(t *testing.T, c Config) []translog.Backend

// Run runs the suite against the backend that newLog makes.
func Run(t *testing.T, newLog NewLog) {
	t.Run("ProofsInteroperate", func(t *testing.T) { testProofsInteroperate(t, newLog) })
	t.Run("TilesAndBundles", func(t *testing.T) { testTiles(t, newLog) })
	t.Run("DuplicatesAcrossFrontEnds", func(t *testing.T) { testDuplicates(t, newLog) })
	t.Run("Witnesses", func(t *testing.T) { testWitnesses(t, newLog) })
	t.Run("Follower", func(t *testing.T) { testFollower(t, newLog) })
	t.Run("Errors", func(t *testing.T) { testErrors(t, newLog) })
}

// frontEnd is one front end served over HTTP.
type frontEnd struct {
	url    string
	client *translog.Client
	b      translog.Backend
}

var admitAll = translog.AdmitFunc(func([]byte) error { return nil })

func serve(t *testing.T, bs []translog.Backend) []frontEnd {
	t.Helper()
	var out []frontEnd
	for _, b := range bs {
		srv := httptest.NewServer(translog.NewBackendServer(b, admitAll).Handler())
		t.Cleanup(srv.Close)
		c, err := translog.NewClient(srv.URL, b.VerifierKey())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, frontEnd{srv.URL, c, b})
	}
	return out
}

func get(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s %v", url, resp.StatusCode, b, err)
	}
	return b
}

func entry(i int) []byte { return fmt.Appendf(nil, "entry %d of the suite", i) }

// addAll adds entries [from, to) with 8 clients at once and returns the
// entries in log order (after the first from, which must be in the log
// already): the order is whatever the log chose, which the answers tell.
func addAll(t *testing.T, fe frontEnd, from, to int) [][]byte {
	t.Helper()
	out := make([][]byte, to-from)
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				p, _, err := fe.client.Add(context.Background(), entry(i))
				if err != nil {
					t.Errorf("add %d: %v", i, err)
					continue
				}
				mu.Lock()
				if p.Index < int64(from) || p.Index >= int64(to) || out[p.Index-int64(from)] != nil {
					t.Errorf("entry %d logged at %d", i, p.Index)
				} else {
					out[p.Index-int64(from)] = entry(i)
				}
				mu.Unlock()
			}
		}()
	}
	for i := from; i < to; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return out
}

// hashes decodes proof lines with nothing but the standard library and
// sumdb/tlog, as another implementation would.
func hashes(t *testing.T, b []byte) []tlog.Hash {
	t.Helper()
	var out []tlog.Hash
	for _, line := range strings.Fields(string(b)) {
		h, err := tlog.ParseHash(line)
		if err != nil {
			t.Fatalf("proof line %q: %v", line, err)
		}
		out = append(out, h)
	}
	return out
}

// openNote opens a checkpoint with sumdb/note and parses its body by hand.
func openNote(t *testing.T, vkey string, raw []byte) (int64, tlog.Hash) {
	t.Helper()
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(raw, note.VerifierList(v))
	if err != nil {
		t.Fatalf("sumdb/note does not open the checkpoint: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	var size int64
	if _, err := fmt.Sscan(lines[1], &size); err != nil || lines[0] != v.Name() {
		t.Fatalf("checkpoint body %q", n.Text)
	}
	h, err := tlog.ParseHash(lines[2])
	if err != nil {
		t.Fatal(err)
	}
	return size, h
}

func testProofsInteroperate(t *testing.T, newLog NewLog) {
	fe := serve(t, newLog(t, Config{FrontEnds: 1}))[0]
	const n = 300
	logged := addAll(t, fe, 0, 20)
	size20, root20 := openNote(t, fe.b.VerifierKey(), get(t, fe.url+"/checkpoint"))
	logged = append(logged, addAll(t, fe, 20, n)...)
	size, root := openNote(t, fe.b.VerifierKey(), get(t, fe.url+"/checkpoint"))
	if size != n || size20 != 20 {
		t.Fatalf("sizes %d and %d, want 20 and %d", size20, size, n)
	}
	// The entries in the log's order give the same tree as sumdb/tlog
	// computes on its own: the same checkpoints, whatever the backend.
	var stored []tlog.Hash
	read := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for j, x := range idx {
			out[j] = stored[x]
		}
		return out, nil
	})
	for i, e := range logged {
		hs, err := tlog.StoredHashes(int64(i), e, read)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, hs...)
	}
	want, _ := tlog.TreeHash(n, read)
	if root != want {
		t.Fatalf("root %s, sumdb/tlog computes %s", root, want)
	}
	for _, i := range []int64{0, 1, 19, 255, 256, n - 1} {
		p := hashes(t, get(t, fmt.Sprintf("%s/proof/inclusion?index=%d&size=%d", fe.url, i, size)))
		if err := tlog.CheckRecord(p, size, root, i, tlog.RecordHash(logged[i])); err != nil {
			t.Errorf("inclusion of %d: %v", i, err)
		}
	}
	p := hashes(t, get(t, fmt.Sprintf("%s/proof/consistency?old=%d&new=%d", fe.url, size20, size)))
	if err := tlog.CheckTree(p, size, root, size20, root20); err != nil {
		t.Errorf("consistency 20 → %d: %v", size, err)
	}
	// The tlog-proof POST /add answers verifies with translog's verifier.
	pr, _, err := fe.client.Add(context.Background(), logged[0])
	if err != nil || pr.Index != 0 {
		t.Fatalf("re-adding entry 0: %v, index %v", err, pr)
	}
	v, _ := translog.NewVerifier(fe.b.VerifierKey())
	if _, err := translog.VerifyProof(pr, logged[0], v.Name(), v); err != nil {
		t.Fatal(err)
	}
}

func testTiles(t *testing.T, newLog NewLog) {
	fe := serve(t, newLog(t, Config{FrontEnds: 1}))[0]
	const n = 600
	logged := addAll(t, fe, 0, n)
	ctx := context.Background()
	cp, err := fe.client.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Entries come through the bundles, checked against the level-0 tiles
	// and those against the root by sumdb/tlog's TileHashReader.
	got, err := fe.client.Entries(ctx, 0, n, cp.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range got {
		if string(e) != string(logged[i]) {
			t.Fatalf("entry %d is %q", i, e)
		}
	}
	// Full tiles are immutable and cacheable; a partial tile is a prefix
	// of the full one.
	resp, err := http.Get(fe.url + "/tile/0/000")
	if err != nil {
		t.Fatal(err)
	}
	full, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") || len(full) != 256*tlog.HashSize {
		t.Fatalf("full tile: %d bytes, Cache-Control %q", len(full), cc)
	}
	part := get(t, fe.url+"/tile/0/000.p/7")
	if string(part) != string(full[:7*tlog.HashSize]) {
		t.Fatal("partial tile is not a prefix of the full tile")
	}
	right := get(t, fe.url+"/tile/0/002.p/88")
	if len(right) != 88*tlog.HashSize {
		t.Fatalf("right edge tile: %d bytes", len(right))
	}
	b1 := get(t, fe.url+"/tile/1/000.p/2")
	if len(b1) != 2*tlog.HashSize {
		t.Fatalf("level-1 tile: %d bytes", len(b1))
	}
	// Past the tree: 404, not cacheable.
	for _, path := range []string{"/tile/0/002", "/tile/0/002.p/89", "/tile/entries/003", "/tile/1/000.p/3"} {
		resp, err := http.Get(fe.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: %d, Cache-Control %q", path, resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
	}
}

func testDuplicates(t *testing.T, newLog NewLog) {
	fes := serve(t, newLog(t, Config{FrontEnds: 3}))
	ctx := context.Background()
	logged := addAll(t, fes[0], 0, 5)
	// The same entries through every front end at once: one index each.
	const n = 30
	idx := make([][]int64, len(fes))
	var wg sync.WaitGroup
	for f := range fes {
		idx[f] = make([]int64, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p, _, err := fes[f].client.Add(ctx, entry(1000+i))
				if err != nil {
					t.Error(err)
					return
				}
				idx[f][i] = p.Index
			}()
		}
	}
	wg.Wait()
	seen := map[int64]int{}
	for i := range n {
		for f := range fes {
			if idx[f][i] != idx[0][i] {
				t.Errorf("entry %d: index %d at front end %d, %d at front end 0", i, idx[f][i], f, idx[0][i])
			}
		}
		if j, ok := seen[idx[0][i]]; ok {
			t.Errorf("entries %d and %d share index %d", i, j, idx[0][i])
		}
		seen[idx[0][i]] = i
	}
	// A logged entry again, through another front end: its old index.
	for f := range fes {
		p, _, err := fes[f].client.Add(ctx, logged[3])
		if err != nil || p.Index != 3 {
			t.Errorf("front end %d: entry 3 again: %v, %v", f, err, p)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for f := range fes {
		for {
			cp, err := fes[f].client.Checkpoint(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if cp.Size == 5+n {
				break
			}
			if cp.Size > 5+n || time.Now().After(deadline) {
				t.Fatalf("front end %d: size %d, want %d", f, cp.Size, 5+n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// fakeWitness cosigns with a plain note key after checking the log's
// consistency proof from the last size it cosigned.
type fakeWitness struct {
	signer note.Signer
	vkey   string
	mu     sync.Mutex
	last   translog.Checkpoint
	rounds int
	err    error
}

func newFakeWitness(t *testing.T) *fakeWitness {
	skey, vkey, err := note.GenerateKey(rand.Reader, "witness.example")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	return &fakeWitness{signer: s, vkey: vkey}
}

func (w *fakeWitness) Cosign(_ context.Context, cp *translog.SignedCheckpoint, prove func(int64) ([]tlog.Hash, error)) ([]byte, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rounds++
	if w.last.Size > 0 {
		p, err := prove(w.last.Size)
		if err == nil {
			err = translog.VerifyConsistency(w.last, cp.Checkpoint, p)
		}
		if err != nil {
			w.err = fmt.Errorf("size %d → %d: %w", w.last.Size, cp.Size, err)
			return nil, w.err
		}
	}
	w.last = cp.Checkpoint
	n := &note.Note{Text: cp.Note.Text, Sigs: cp.Note.Sigs}
	return note.Sign(n, w.signer)
}

func testWitnesses(t *testing.T, newLog NewLog) {
	w := newFakeWitness(t)
	fe := serve(t, newLog(t, Config{FrontEnds: 1, Witness: translog.WitnessOptions{Cosigner: w, Timeout: 5 * time.Second}}))[0]
	addAll(t, fe, 0, 40)
	raw := get(t, fe.url+"/checkpoint")
	lv, _ := note.NewVerifier(fe.b.VerifierKey())
	wv, _ := note.NewVerifier(w.vkey)
	n, err := note.Open(raw, note.VerifierList(lv, wv))
	if err != nil || len(n.Sigs) != 2 {
		t.Fatalf("checkpoint not cosigned: %v, %d signatures:\n%s", err, len(n.Sigs), raw)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil || w.rounds < 2 {
		t.Fatalf("witness: %d rounds, %v", w.rounds, w.err)
	}
}

func testFollower(t *testing.T, newLog NewLog) {
	fe := serve(t, newLog(t, Config{FrontEnds: 1}))[0]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	var followErr error
	sizes := 0
	go func() {
		defer wg.Done()
		var last *translog.SignedCheckpoint
		for ctx.Err() == nil {
			cp, err := fe.client.Update(ctx, last)
			if err != nil {
				if ctx.Err() == nil {
					followErr = err
				}
				return
			}
			if last == nil || cp.Size != last.Size {
				sizes++
			}
			last = cp
			time.Sleep(2 * time.Millisecond)
		}
	}()
	var adders sync.WaitGroup
	for g := range 4 {
		adders.Add(1)
		go func() {
			defer adders.Done()
			for i := range 50 {
				if _, _, err := fe.client.Add(ctx, entry(10000+g*100+i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	adders.Wait()
	cancel()
	wg.Wait()
	if followErr != nil {
		t.Fatal(followErr)
	}
	if sizes < 2 {
		t.Fatalf("the follower saw %d sizes", sizes)
	}
}

func testErrors(t *testing.T, newLog NewLog) {
	fe := serve(t, newLog(t, Config{FrontEnds: 1}))[0]
	addAll(t, fe, 0, 3)
	for path, want := range map[string]int{
		"/proof/inclusion?index=0&size=4":                http.StatusNotFound,
		"/proof/inclusion?index=3&size=3":                http.StatusBadRequest,
		"/proof/consistency?old=1&new=4":                 http.StatusNotFound,
		"/proof/consistency?old=2&new=1":                 http.StatusBadRequest,
		"/tile/entries/000.p/4":                          http.StatusNotFound,
		"/tile/0/x000/000":                               http.StatusBadRequest,
		"/tile/0/x999/x999/x999/x999/x999/x999/x999/999": http.StatusNotFound,
	} {
		resp, err := http.Get(fe.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	resp, err := http.Post(fe.url+"/add", "application/octet-stream", strings.NewReader(strings.Repeat("x", translog.MaxEntrySize+1)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized entry: %d", resp.StatusCode)
	}
}
