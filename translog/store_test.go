package translog

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
	"golang.org/x/mod/sumdb/tlog"
)

func newStore(t testing.TB) (*Store, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "log")
	if _, err := Init(dir, "log.example/test"); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

// TestRFC6962Vectors appends the RFC 6962 test leaves one at a time and
// compares every root with the reference values of transparency-dev/merkle.
func TestRFC6962Vectors(t *testing.T) {
	s, _ := newStore(t)
	if cp := s.Checkpoint(); cp.Size != 0 || !bytes.Equal(cp.Hash[:], testonly.EmptyRootHash()) {
		t.Fatalf("empty log: checkpoint %d %x", cp.Size, cp.Hash)
	}
	for i, leaf := range testonly.LeafInputs() {
		if _, err := s.Append([][]byte{leaf}); err != nil {
			t.Fatal(err)
		}
		cp := s.Checkpoint()
		if want := testonly.RootHashes()[i+1]; cp.Size != int64(i+1) || !bytes.Equal(cp.Hash[:], want) {
			t.Fatalf("size %d: root %x, want %x", cp.Size, cp.Hash[:], want)
		}
	}
}

// TestProofsInteroperate checks every inclusion and consistency proof of a
// tree of 300 entries (two tiles) with both sumdb/tlog and merkle/proof.
func TestProofsInteroperate(t *testing.T) {
	s, _ := newStore(t)
	var roots []tlog.Hash
	roots = append(roots, s.Checkpoint().Hash)
	var entries [][]byte
	for i := range 300 {
		entries = append(entries, []byte(fmt.Sprintf("entry %d", i)))
	}
	for i := 0; i < len(entries); {
		n := 1 + i%7 // batches of varying size
		n = min(n, len(entries)-i)
		if _, err := s.Append(entries[i : i+n]); err != nil {
			t.Fatal(err)
		}
		i += n
		for len(roots) <= i {
			h, err := s.TreeHash(int64(len(roots)))
			if err != nil {
				t.Fatal(err)
			}
			roots = append(roots, h)
		}
	}
	for size := int64(1); size <= 300; size += 13 {
		for idx := int64(0); idx < size; idx += 7 {
			p, err := s.InclusionProof(idx, size)
			if err != nil {
				t.Fatal(err)
			}
			leaf := LeafHash(entries[idx])
			if err := tlog.CheckRecord(p, size, roots[size], idx, leaf); err != nil {
				t.Fatalf("tlog rejects inclusion %d in %d: %v", idx, size, err)
			}
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(idx), uint64(size), leaf[:], toBytes(p), roots[size][:]); err != nil {
				t.Fatalf("merkle rejects inclusion %d in %d: %v", idx, size, err)
			}
		}
		for old := int64(1); old <= size; old += 11 {
			p, err := s.ConsistencyProof(old, size)
			if err != nil {
				t.Fatal(err)
			}
			if err := tlog.CheckTree(p, size, roots[size], old, roots[old]); err != nil {
				t.Fatalf("tlog rejects consistency %d→%d: %v", old, size, err)
			}
			if err := VerifyConsistency(Checkpoint{Size: old, Hash: roots[old]}, Checkpoint{Size: size, Hash: roots[size]}, p); err != nil {
				t.Fatalf("merkle rejects consistency %d→%d: %v", old, size, err)
			}
		}
	}
	// A flipped bit anywhere is caught.
	p, _ := s.InclusionProof(5, 300)
	p[2][0] ^= 1
	if err := VerifyInclusion(5, 300, LeafHash(entries[5]), p, roots[300]); !errors.Is(err, ErrInclusion) {
		t.Fatalf("bit-flipped inclusion proof: %v", err)
	}
	// A proof for another entry says so in words, never as byte slices.
	p, _ = s.InclusionProof(5, 300)
	err := VerifyInclusion(5, 300, LeafHash(entries[6]), p, roots[300])
	if want := "this entry is not entry 5 of the signed tree of size 300: the proof is for another entry"; err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "[") {
		t.Fatalf("proof for another entry: %v, want %q", err, want)
	}
	c, _ := s.ConsistencyProof(100, 300)
	c[0][31] ^= 1
	var ce *ConsistencyError
	if err := VerifyConsistency(Checkpoint{Size: 100, Hash: roots[100]}, Checkpoint{Size: 300, Hash: roots[300]}, c); !errors.As(err, &ce) || ce.Old.Size != 100 || strings.Contains(ce.Underlying, "[") {
		t.Fatalf("bit-flipped consistency proof: %v", err)
	}
}

func TestTilesAndBundles(t *testing.T) {
	s, _ := newStore(t)
	var entries [][]byte
	for i := range 600 {
		entries = append(entries, bytes.Repeat([]byte{byte(i)}, i%50))
	}
	if _, err := s.Append(entries); err != nil {
		t.Fatal(err)
	}
	cp := s.Checkpoint()
	// sumdb/tlog's TileHashReader verifies tiles against the tree head.
	tr := tlog.TileHashReader(tlog.Tree{N: cp.Size, Hash: cp.Hash}, storeTiles{s})
	if _, err := tr.ReadHashes([]int64{tlog.StoredHashIndex(0, 0), tlog.StoredHashIndex(0, 599), tlog.StoredHashIndex(8, 1)}); err != nil {
		t.Fatalf("tiles do not verify: %v", err)
	}
	b, err := s.EntryBundle(2, 600-512)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseBundle(b, 88)
	if err != nil || !bytes.Equal(got[3], entries[515]) {
		t.Fatalf("bundle 2: %v", err)
	}
	for _, tt := range []struct {
		level, n int64
		w        int
	}{{0, 2, 256}, {0, 3, 1}, {1, 0, 3}, {0, 2, 89}, {2, 0, 1}} {
		if _, err := s.Tile(tt.level, tt.n, tt.w); !errors.Is(err, ErrNotFound) {
			t.Errorf("tile %v beyond the tree: err = %v", tt, err)
		}
	}
}

type storeTiles struct{ s *Store }

func (r storeTiles) Height() int { return TileHeight }
func (r storeTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	var out [][]byte
	for _, t := range tiles {
		b, err := r.s.Tile(int64(t.L), t.N, t.W)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}
func (r storeTiles) SaveTiles([]tlog.Tile, [][]byte) {}

func TestRecovery(t *testing.T) {
	s, dir := newStore(t)
	s.Append([][]byte{[]byte("a"), []byte("b"), []byte("c")})
	cp3 := s.Checkpoint()
	s.Close()
	grow := func(name string, extra []byte) {
		f, _ := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_APPEND, 0)
		f.Write(extra)
		f.Close()
	}
	// A torn write past the checkpoint: half an entry, half an index slot, a stray hash byte.
	grow(entriesFile, []byte{0, 5, 'x'})
	grow(indexFile, []byte{0, 0, 0})
	grow(hashesFile, []byte{1})
	s2, err := Open(dir)
	if err != nil {
		t.Fatalf("torn tail: %v", err)
	}
	if cp := s2.Checkpoint(); cp.Size != 3 || cp.Hash != cp3.Hash {
		t.Fatalf("after recovery: size %d", cp.Size)
	}
	if _, err := s2.Append([][]byte{[]byte("d")}); err != nil {
		t.Fatal(err)
	}
	// Entries and index written, hashes and checkpoint lost: rehashed and published.
	s2.Append([][]byte{[]byte("e")})
	s2.Close()
	os.Truncate(filepath.Join(dir, hashesFile), tlog.StoredHashCount(4)*tlog.HashSize)
	os.WriteFile(filepath.Join(dir, checkpointFile), cp3.Raw, 0o644)
	s3, err := Open(dir)
	if err != nil {
		t.Fatalf("lost hashes: %v", err)
	}
	if cp := s3.Checkpoint(); cp.Size != 5 {
		t.Fatalf("entries past the checkpoint not republished: size %d", cp.Size)
	}
	if i, ok, _ := s3.Lookup([]byte("e")); !ok || i != 4 {
		t.Fatalf("dedup index not rebuilt: %d %v", i, ok)
	}
	// Appending after that recovery must not overwrite the rehashed entries.
	if _, err := s3.Append([][]byte{[]byte("f")}); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"a", "b", "c", "d", "e", "f"} {
		if got, err := s3.Entry(int64(i)); err != nil || string(got) != want {
			t.Fatalf("entry %d after recovery and append: %q, %v; want %q", i, got, err, want)
		}
	}
	s3.Close()
	// Losing an entry a checkpoint covered is corruption, and Open changes nothing.
	os.Truncate(filepath.Join(dir, indexFile), 8*5)
	before, _ := os.ReadFile(filepath.Join(dir, entriesFile))
	if _, err := Open(dir); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("lost covered entry: err = %v, want ErrCorrupt", err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, entriesFile)); !bytes.Equal(before, after) {
		t.Fatal("Open changed a corrupt log")
	}
}

func TestRecoveryDetectsRewrittenEntry(t *testing.T) {
	s, dir := newStore(t)
	s.Append([][]byte{[]byte("aaaa"), []byte("bbbb")})
	s.Close()
	b, _ := os.ReadFile(filepath.Join(dir, entriesFile))
	b[3] = 'z'
	os.WriteFile(filepath.Join(dir, entriesFile), b, 0o600)
	os.Remove(filepath.Join(dir, hashesFile))
	os.WriteFile(filepath.Join(dir, hashesFile), nil, 0o600)
	if _, err := Open(dir); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("rewritten entry: err = %v, want ErrCorrupt", err)
	}
}

func TestInitRefusesNonEmptyDir(t *testing.T) {
	_, dir := newStore(t)
	if _, err := Init(dir, "other"); err == nil {
		t.Fatal("Init over an existing log succeeded")
	}
	if _, err := Open(t.TempDir()); err == nil {
		t.Fatal("Open of an empty directory succeeded")
	}
}

func TestEvidenceWithPrefixRoot(t *testing.T) {
	// Old size a power of two: only the prefix root makes the evidence conclusive.
	s, dir := newStore(t)
	s.Append([][]byte{[]byte("a"), []byte("b")})
	old := s.Checkpoint()
	s.Close()
	key, _ := os.ReadFile(filepath.Join(dir, keyFile))
	vkey, _ := os.ReadFile(filepath.Join(dir, vkeyFile))
	fork := filepath.Join(t.TempDir(), "fork")
	Init(fork, "log.example/test")
	os.WriteFile(filepath.Join(fork, keyFile), key, 0o600)
	os.WriteFile(filepath.Join(fork, vkeyFile), vkey, 0o644)
	os.Remove(filepath.Join(fork, checkpointFile))
	f, err := Open(fork)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Append([][]byte{[]byte("a"), []byte("B"), []byte("c")})
	proof, _ := f.ConsistencyProof(2, 3)
	prefix, _ := f.TreeHash(2)
	e := NewEvidence(strings.TrimSpace(string(vkey)), old.Raw, f.Checkpoint().Raw, proof, "test")
	if _, err := e.Check(strings.TrimSpace(string(vkey))); !errors.Is(err, ErrInconclusive) {
		t.Fatalf("without the prefix root: %v", err)
	}
	e.PrefixRoot = EncodeHash(prefix)
	back, _ := ParseEvidence(e.Marshal())
	if what, err := back.Check(strings.TrimSpace(string(vkey))); err != nil || !strings.Contains(what, "forked") {
		t.Fatalf("with the prefix root: %q %v", what, err)
	}
	// A made-up prefix root does not verify.
	back.PrefixRoot = EncodeHash(tlog.Hash{7})
	if _, err := back.Check(strings.TrimSpace(string(vkey))); !errors.Is(err, ErrInconclusive) {
		t.Fatalf("made-up prefix root: %v", err)
	}
}

// TestAttackFrameLogFromEmptyTree: the log's own size-0 checkpoint, any
// later one, an empty proof and a made-up prefix root were "proven" a fork
// of an honest log, because consistency from size 0 takes no proof and
// verifies against any root.
func TestAttackFrameLogFromEmptyTree(t *testing.T) {
	s, dir := newStore(t)
	empty := s.Checkpoint()
	s.Append([][]byte{[]byte("a"), []byte("b"), []byte("c")})
	later := s.Checkpoint()
	vkey, _ := os.ReadFile(filepath.Join(dir, vkeyFile))
	trusted := strings.TrimSpace(string(vkey))
	for _, prefix := range []string{"", EncodeHash(tlog.Hash{}), EncodeHash(tlog.Hash{7})} {
		for _, proof := range [][]tlog.Hash{nil, {{1}}} {
			e := NewEvidence(trusted, empty.Raw, later.Raw, proof, "framed")
			e.PrefixRoot = prefix
			back, err := ParseEvidence(e.Marshal())
			if err != nil {
				t.Fatal(err)
			}
			if what, err := back.Check(trusted); !errors.Is(err, ErrInconclusive) {
				t.Errorf("prefix %q, proof %v: %q, %v; want inconclusive", prefix, proof, what, err)
			}
		}
	}
}
