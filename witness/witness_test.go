package witness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	fmtnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"ssms.dev/ssms/translog"
)

func newCosigner(t testing.TB, name string) (*Cosigner, string) {
	t.Helper()
	skey, vkey, err := GenerateKey(name)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCosigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return c, vkey
}

// TestCosignatureInterop verifies our cosignatures with transparency-dev's
// formats package, an independent implementation, through sumdb/note.
func TestCosignatureInterop(t *testing.T) {
	c, vkey := newCosigner(t, "witness.example/w1")
	c.now = func() time.Time { return time.Unix(1679315147, 0) }
	body := "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
	signed, err := note.Sign(&note.Note{Text: body}, c)
	if err != nil {
		t.Fatal(err)
	}
	v, err := fmtnote.NewVerifierForCosignatureV1(vkey)
	if err != nil {
		t.Fatalf("formats rejects our vkey: %v", err)
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		t.Fatalf("formats does not verify our cosignature: %v", err)
	}
	if ts, _ := fmtnote.CoSigV1Timestamp(n.Sigs[0]); ts.Unix() != 1679315147 {
		t.Fatalf("timestamp %v", ts)
	}
	// A cosignature over another body does not verify.
	if _, err := note.Open(bytes.Replace(signed, []byte("20852163"), []byte("20852164"), 1), note.VerifierList(v)); err == nil {
		t.Fatal("cosignature verified over a changed body")
	}
	if _, err := NewCosigner("PRIVATE+KEY+x+00000000+AAAA"); err == nil {
		t.Fatal("malformed private key accepted")
	}
}

type testLog struct {
	store *translog.Store
	vkey  string
}

func newLog(t testing.TB, origin string) *testLog {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "log")
	vkey, err := translog.Init(dir, origin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := translog.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &testLog{s, vkey}
}

func (l *testLog) grow(t testing.TB, n int) *translog.SignedCheckpoint {
	t.Helper()
	var batch [][]byte
	for i := range n {
		batch = append(batch, []byte(fmt.Sprintf("entry %d %d", l.store.Checkpoint().Size, i)))
	}
	if _, err := l.store.Append(batch); err != nil {
		t.Fatal(err)
	}
	return l.store.Checkpoint()
}

func request(old int64, proof []tlog.Hash, cp []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "old %d\n", old)
	for _, h := range proof {
		b.WriteString(translog.EncodeHash(h) + "\n")
	}
	b.WriteString("\n")
	b.Write(cp)
	return b.Bytes()
}

func TestAddCheckpoint(t *testing.T) {
	log := newLog(t, "log.example")
	other := newLog(t, "other.example")
	c, vkey := newCosigner(t, "w1")
	dir := t.TempDir()
	w, err := New(dir, c, []string{log.vkey})
	if err != nil {
		t.Fatal(err)
	}
	cp5 := log.grow(t, 5)
	sig, err := w.AddCheckpoint(request(0, nil, cp5.Raw))
	if err != nil {
		t.Fatal(err)
	}
	if q, err := CheckQuorum(append(bytes.Clone(cp5.Raw), sig...), []string{vkey}, 1, time.Now(), time.Hour); err != nil || q.Witnesses[0] != "w1" {
		t.Fatalf("cosignature does not make a quorum: %v", err)
	}
	cp9 := log.grow(t, 4)
	proof, _ := log.store.ConsistencyProof(5, 9)
	badProof := append([]tlog.Hash{}, proof...)
	badProof[0][0] ^= 1
	forged := strings.Replace(string(cp9.Raw), "\n9\n", "\n10\n", 1)
	tests := []struct {
		name string
		body []byte
		want error
	}{
		{"stale old size", request(0, nil, cp9.Raw), ErrConflict},
		{"unknown log", request(0, nil, other.grow(t, 1).Raw), ErrUnknownLog},
		{"bad signature", request(5, proof, []byte(forged)), ErrBadSignature},
		{"old above size", request(10, nil, cp9.Raw), ErrMalformed},
		{"bad proof", request(5, badProof, cp9.Raw), ErrBadProof},
		{"garbage", []byte("hello"), ErrMalformed},
		{"leading zero", request(5, proof, cp9.Raw)[1:], ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := w.AddCheckpoint(tt.body); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	var conflict *ConflictError
	if _, err := w.AddCheckpoint(request(0, nil, cp9.Raw)); !errors.As(err, &conflict) || conflict.Size != 5 {
		t.Fatalf("409 must carry the stored size 5: %v", err)
	}
	if _, err := w.AddCheckpoint(request(5, proof, cp9.Raw)); err != nil {
		t.Fatalf("consistent checkpoint refused: %v", err)
	}
	// The same tree again is cosigned again (fresh timestamp), not stored twice.
	if _, err := w.AddCheckpoint(request(9, nil, cp9.Raw)); err != nil {
		t.Fatalf("same checkpoint again: %v", err)
	}
}

// TestWitnessKeepsEvidenceOfAFork makes a log sign two different trees of
// the same size (by replaying its key on a second directory); the witness
// keeps one evidence file for the pair however often it is sent.
func TestWitnessKeepsEvidenceOfAFork(t *testing.T) {
	log := newLog(t, "log.example")
	c, _ := newCosigner(t, "w1")
	dir := t.TempDir()
	w, _ := New(dir, c, []string{log.vkey})
	cp := log.grow(t, 3)
	if _, err := w.AddCheckpoint(request(0, nil, cp.Raw)); err != nil {
		t.Fatal(err)
	}
	fork := forkOf(t, log, 3)
	// Sent again and again (anyone holding both checkpoints can), the
	// fork is kept once.
	for range 3 {
		if _, err := w.AddCheckpoint(request(3, nil, fork.Raw)); !errors.Is(err, ErrConflict) {
			t.Fatalf("a second root for size 3: err = %v, want 409", err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "evidence", "*.evidence"))
	if len(files) != 1 {
		t.Fatalf("evidence files: %v", files)
	}
	b, _ := os.ReadFile(files[0])
	e, err := translog.ParseEvidence(b)
	if err != nil {
		t.Fatal(err)
	}
	if what, err := e.Check(log.vkey); err != nil || !strings.Contains(what, "two different roots for size 3") {
		t.Fatalf("evidence check: %q, %v", what, err)
	}
}

// forkOf signs, with log's key, a tree of size n with other entries.
func forkOf(t *testing.T, log *testLog, n int) *translog.SignedCheckpoint {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "fork")
	if _, err := translog.Init(dir, "log.example"); err != nil {
		t.Fatal(err)
	}
	src := filepath.Dir(log.store.CheckpointPath())
	for _, f := range []string{"log.key", "log.vkey"} {
		b, _ := os.ReadFile(filepath.Join(src, f))
		os.WriteFile(filepath.Join(dir, f), b, 0o600)
	}
	os.Remove(filepath.Join(dir, "checkpoint"))
	s, err := translog.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var batch [][]byte
	for i := range n {
		batch = append(batch, []byte(fmt.Sprintf("forked entry %d", i)))
	}
	s.Append(batch)
	return s.Checkpoint()
}

// TestCompareAndSwap sends racing requests: the stored size never goes back.
func TestCompareAndSwap(t *testing.T) {
	log := newLog(t, "log.example")
	c, _ := newCosigner(t, "w1")
	w, _ := New(t.TempDir(), c, []string{log.vkey})
	var cps []*translog.SignedCheckpoint
	for range 20 {
		cps = append(cps, log.grow(t, 1))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	okSizes := []int64{}
	for _, cp := range cps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := w.AddCheckpoint(request(0, nil, cp.Raw)); err == nil {
				mu.Lock()
				okSizes = append(okSizes, cp.Size)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(okSizes) != 1 {
		t.Fatalf("%d racing requests from old size 0 succeeded (%v); exactly one may", len(okSizes), okSizes)
	}
}

func TestCheckQuorum(t *testing.T) {
	log := newLog(t, "log.example")
	cp := log.grow(t, 2)
	c1, v1 := newCosigner(t, "w1")
	c2, v2 := newCosigner(t, "w2")
	_, v3 := newCosigner(t, "w3")
	now := time.Now()
	c1.now = func() time.Time { return now.Add(-2 * time.Hour) }
	c2.now = func() time.Time { return now.Add(-time.Minute) }
	line := func(c *Cosigner) []byte {
		s, _ := note.Sign(&note.Note{Text: cp.Note.Text}, c)
		_, l, _ := bytes.Cut(s, []byte("\n\n"))
		return l
	}
	signed := append(append(bytes.Clone(cp.Raw), line(c1)...), line(c2)...)
	vkeys := []string{v1, v2, v3}
	if q, err := CheckQuorum(signed, vkeys, 2, now, 3*time.Hour); err != nil || len(q.Witnesses) != 2 || !q.Fresh.Equal(now.Add(-2*time.Hour).Truncate(time.Second)) {
		t.Fatalf("2 of 3: %+v %v", q, err)
	}
	if _, err := CheckQuorum(signed, vkeys, 3, now, time.Hour); !errors.Is(err, ErrQuorum) {
		t.Fatalf("3 of 3: %v", err)
	}
	if _, err := CheckQuorum(append(bytes.Clone(cp.Raw), line(c1)...), vkeys, 1, now, time.Hour); !errors.Is(err, ErrStale) {
		t.Fatalf("two hours old: %v", err)
	}
	// The same witness twice counts once; a bogus line invalidates nothing.
	bogus := []byte("— w3 " + strings.Repeat("A", 96) + "\n")
	again := append(append(append(bytes.Clone(cp.Raw), line(c2)...), line(c2)...), bogus...)
	if q, err := CheckQuorum(again, vkeys, 1, now, time.Hour); err != nil || len(q.Witnesses) != 1 {
		t.Fatalf("duplicate and bogus lines: %v %v", q, err)
	}
	c2.now = func() time.Time { return now.Add(time.Hour) }
	if _, err := CheckQuorum(append(bytes.Clone(cp.Raw), line(c2)...), vkeys, 1, now, time.Hour); !errors.Is(err, ErrQuorum) {
		t.Fatalf("cosignature from the future counted: %v", err)
	}
}

// TestLogWithWitnesses runs a log whose sequencer collects cosignatures
// from two witness servers; then one witness dies and the log degrades.
func TestLogWithWitnesses(t *testing.T) {
	log := newLog(t, "log.example")
	var urls, vkeys []string
	var servers []*httptest.Server
	for _, name := range []string{"w1", "w2"} {
		c, vkey := newCosigner(t, name)
		w, _ := New(t.TempDir(), c, []string{log.vkey})
		srv := httptest.NewServer(w.Handler())
		t.Cleanup(srv.Close)
		servers = append(servers, srv)
		urls, vkeys = append(urls, srv.URL), append(vkeys, vkey)
	}
	col, err := NewCollector(urls, vkeys)
	if err != nil {
		t.Fatal(err)
	}
	col.Timeout = 2 * time.Second
	seq := translog.NewWitnessedSequencer(log.store, 1024, 1024, translog.WitnessOptions{Cosigner: col})
	defer seq.Close()
	ctx := context.Background()
	for i := range 5 {
		_, cp, err := seq.Add(ctx, []byte(fmt.Sprintf("release %d", i)))
		if err != nil {
			t.Fatal(err)
		}
		if q, err := CheckQuorum(cp.Raw, vkeys, 2, time.Now(), time.Hour); err != nil {
			t.Fatalf("add %d: %v (%v)", i, err, q)
		}
	}
	servers[1].Close()
	start := time.Now()
	_, cp, err := seq.Add(ctx, []byte("while w2 is down"))
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > col.Timeout+time.Second {
		t.Fatalf("a dead witness blocked the log for %v", time.Since(start))
	}
	if q, err := CheckQuorum(cp.Raw, vkeys, 1, time.Now(), time.Hour); err != nil || q.Witnesses[0] != "w1" {
		t.Fatalf("degraded checkpoint: %v", err)
	}
	if _, err := CheckQuorum(cp.Raw, vkeys, 2, time.Now(), time.Hour); !errors.Is(err, ErrQuorum) {
		t.Fatalf("a quorum of 2 with one witness down: %v", err)
	}
}
