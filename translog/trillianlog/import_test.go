package trillianlog_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"ssms.dev/ssms/translog"
	"ssms.dev/ssms/translog/trillianlog"
)

// embeddedLog makes an embedded log of n entries of varied lengths.
func embeddedLog(t *testing.T, n int) (*translog.Store, *translog.Key) {
	dir := filepath.Join(t.TempDir(), "log")
	if _, err := translog.Init(dir, "log.example/import"); err != nil {
		t.Fatal(err)
	}
	s, err := translog.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var batch [][]byte
	for i := range n {
		batch = append(batch, fmt.Appendf(nil, "embedded entry %d %s", i, strings.Repeat("x", i%300)))
		if len(batch) == 97 || i == n-1 {
			if _, err := s.Append(batch); err != nil {
				t.Fatal(err)
			}
			batch = nil
		}
	}
	k, err := translog.LoadKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s, k
}

// TestImport moves an embedded log onto Trillian, in steps that cross tile
// and round boundaries, and checks that nothing a client sees changed: the
// same checkpoint bytes, tiles, entry bundles and proofs; that the log goes
// on from it with consistent checkpoints; and that importing again is a
// no-op while importing into a used tree is refused.
func TestImport(t *testing.T) {
	addr, dsn := env(t)
	defer trillianlog.SetMaxRound(512)()
	const n = 1300
	src, key := embeddedLog(t, n)
	anchor := src.Checkpoint()
	tree := newTree(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stages []string
	cp, err := trillianlog.Import(ctx, dsn, addr, tree, key, src, func(stage string, done, total int64) {
		if len(stages) == 0 || stages[len(stages)-1] != stage {
			stages = append(stages, stage)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(cp.Raw) != string(anchor.Raw) {
		t.Fatalf("Import returned another checkpoint")
	}
	t.Logf("stages: %v", stages)

	l := openFrontEnd(t, addr, dsn, trillianlog.Options{TreeID: tree, Key: key, NoCheckpointer: true})
	if got := l.Checkpoint(); string(got.Raw) != string(anchor.Raw) {
		t.Fatalf("the front end serves\n%s\nwant the embedded log's\n%s", got.Raw, anchor.Raw)
	}
	for _, tile := range tlog.NewTiles(translog.TileHeight, 0, n) {
		want, err := src.Tile(int64(tile.L), tile.N, tile.W)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := l.Tile(int64(tile.L), tile.N, tile.W); err != nil || !bytes.Equal(got, want) {
			t.Errorf("tile %v: %v, differs from the embedded log's", tile.Path(), err)
		}
		if tile.L == 0 {
			want, _ := src.EntryBundle(tile.N, tile.W)
			if got, err := l.EntryBundle(tile.N, tile.W); err != nil || !bytes.Equal(got, want) {
				t.Errorf("entry bundle %d/%d: %v, differs from the embedded log's", tile.N, tile.W, err)
			}
		}
	}
	for _, i := range []int64{0, 1, 255, 256, 511, 512, 1023, 1024, n - 1} {
		want, _ := src.InclusionProof(i, n)
		got, err := l.InclusionProof(i, n)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("inclusion proof of %d: %v, differs from the embedded log's", i, err)
		}
	}
	l.Close()

	// The log goes on: a checkpointer signs the next entry at index n,
	// consistently with the imported checkpoint.
	l = openFrontEnd(t, addr, dsn, trillianlog.Options{TreeID: tree, Key: key})
	i, next, err := l.Add(ctx, []byte("the first entry on Trillian"))
	if err != nil || i != n {
		t.Fatalf("Add after the import: index %d, %v; want %d", i, err, n)
	}
	if got, _, err := l.Add(ctx, []byte("embedded entry 7 "+strings.Repeat("x", 7))); err != nil || got != 7 {
		t.Errorf("an imported entry added again: index %d, %v; want 7", got, err)
	}
	proof, err := l.ConsistencyProof(n, next.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckTree(proof, next.Size, next.Hash, n, anchor.Hash); err != nil {
		t.Errorf("the checkpoint after the import does not extend the imported one: %v", err)
	}

	// Again, with the front end running: refused (it holds the lock).
	if _, err := trillianlog.Import(ctx, dsn, addr, tree, key, src, nil); err == nil || !strings.Contains(err.Error(), "stop every front end") {
		t.Errorf("import while a front end runs: %v", err)
	}
	l.Close()
	// Again, with the log gone on: refused, the tree is not new.
	if _, err := trillianlog.Import(ctx, dsn, addr, tree, key, src, nil); err == nil || !strings.Contains(err.Error(), "import only into a new tree") {
		t.Errorf("import into a tree that went on: %v", err)
	}
}

// TestImportAgain: an import that completed is a no-op when run again.
func TestImportAgain(t *testing.T) {
	addr, dsn := env(t)
	src, key := embeddedLog(t, 300)
	tree := newTree(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for range 2 {
		cp, err := trillianlog.Import(ctx, dsn, addr, tree, key, src, nil)
		if err != nil || string(cp.Raw) != string(src.Checkpoint().Raw) {
			t.Fatalf("import: %v", err)
		}
	}
}

// TestImportRefusesAnotherKey: the key must be the embedded log's.
func TestImportRefusesAnotherKey(t *testing.T) {
	addr, dsn := env(t)
	src, _ := embeddedLog(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := trillianlog.Import(ctx, dsn, addr, newTree(t, addr), newKey(t), src, nil); err == nil || !strings.Contains(err.Error(), "the embedded log's is") {
		t.Errorf("import with another key: %v", err)
	}
}

// importInterrupted runs an import of src into tree and kills it (cancels
// its context) once it reports stage with done ≥ at.
func importInterrupted(t *testing.T, dsn, addr string, tree int64, key *translog.Key, src *translog.Store, stage string, at int64) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	_, err := trillianlog.Import(ctx, dsn, addr, tree, key, src, func(s string, done, total int64) {
		if s == stage && done >= at {
			cancel()
		}
	})
	cancel()
	if err == nil {
		t.Fatal("the interrupted import completed")
	}
	t.Logf("import interrupted: %v", err)
}
