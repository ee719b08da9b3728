package translog

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	fmtlog "github.com/transparency-dev/formats/log"
	fmtproof "github.com/transparency-dev/formats/proof"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func TestCheckpointOpensWithSumdbNote(t *testing.T) {
	s, _ := newStore(t)
	s.Append([][]byte{[]byte("x")})
	cp := s.Checkpoint()
	// The vkey the log prints opens the checkpoint with x/mod's note package.
	v, err := note.NewVerifier(s.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(cp.Raw, note.VerifierList(v))
	if err != nil {
		t.Fatalf("sumdb/note cannot open our checkpoint: %v", err)
	}
	// And transparency-dev/formats reads the same body.
	var theirs fmtlog.Checkpoint
	if _, err := theirs.Unmarshal([]byte(n.Text)); err != nil || theirs.Size != 1 || !bytes.Equal(theirs.Hash, cp.Hash[:]) || theirs.Origin != s.Origin() {
		t.Fatalf("formats reads %+v, %v", theirs, err)
	}
	if got := theirs.Marshal(); !bytes.Equal(got, cp.Marshal()) {
		t.Fatalf("formats marshals %q, we %q", got, cp.Marshal())
	}
}

func TestOpenCheckpointErrors(t *testing.T) {
	skey, vkey, _ := note.GenerateKey(rand.Reader, "log.example")
	signer, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	_, otherVKey, _ := note.GenerateKey(rand.Reader, "log.example")
	other, _ := note.NewVerifier(otherVKey)
	sign := func(body string) []byte {
		b, err := note.Sign(&note.Note{Text: body}, signer)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	hash := tlog.Hash{1}
	good := Checkpoint{Origin: "log.example", Size: 5, Hash: hash}
	if _, err := OpenCheckpoint(sign(string(good.Marshal())), "log.example", v); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		note []byte
		key  note.Verifier
		want error
	}{
		{"other key", sign(string(good.Marshal())), other, ErrSignature},
		{"other origin", sign(string(Checkpoint{Origin: "log.example", Size: 5, Hash: hash}.Marshal())), v, nil},
		{"leading zero", sign("log.example\n05\n" + encodeHash(hash) + "\n"), v, ErrCheckpointFormat},
		{"short hash", sign("log.example\n5\nAAAA\n"), v, ErrCheckpointFormat},
		{"two lines", sign("log.example\n5\n"), v, ErrCheckpointFormat},
		{"empty extension", sign(string(good.Marshal()) + "\n"), v, ErrCheckpointFormat},
		{"tampered", bytes.Replace(sign(string(good.Marshal())), []byte("\n5\n"), []byte("\n6\n"), 1), v, ErrSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := OpenCheckpoint(tt.note, "log.example", tt.key)
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := OpenCheckpoint(sign(string(good.Marshal())), "other.example", v); !errors.Is(err, ErrWrongOrigin) {
		t.Fatalf("wrong origin: %v", err)
	}
}

func TestProofInteroperatesWithFormats(t *testing.T) {
	s, _ := newStore(t)
	entries := [][]byte{[]byte("a"), []byte("b"), []byte("c"), []byte("d"), []byte("e")}
	s.Append(entries)
	cp := s.Checkpoint()
	hashes, _ := s.InclusionProof(3, cp.Size)
	ours := &Proof{Extra: []byte("context"), Index: 3, Hashes: hashes, Checkpoint: cp.Raw}
	var theirs fmtproof.TLogProof
	if err := theirs.Unmarshal(ours.Marshal()); err != nil {
		t.Fatalf("formats cannot read our proof: %v", err)
	}
	if theirs.Index != 3 || len(theirs.Hashes) != len(hashes) || !bytes.Equal(theirs.Checkpoint, cp.Raw) || string(theirs.ExtraData) != "context" {
		t.Fatalf("formats reads %+v", theirs)
	}
	back, err := ParseProof(theirs.Marshal())
	if err != nil {
		t.Fatalf("we cannot read formats' proof: %v", err)
	}
	if !bytes.Equal(back.Marshal(), ours.Marshal()) {
		t.Fatal("round trip through formats changed the proof")
	}
	if _, err := VerifyProof(back, entries[3], s.Origin(), s.verifier()); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyProof(back, entries[2], s.Origin(), s.verifier()); !errors.Is(err, ErrInclusion) {
		t.Fatalf("proof for d accepted for c: %v", err)
	}
}

func TestParseProofErrors(t *testing.T) {
	good := (&Proof{Index: 7, Hashes: []tlog.Hash{{1}, {2}}, Checkpoint: []byte("log\n8\nAA==\n\n— log x\n")}).Marshal()
	if _, err := ParseProof(good); err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string]string{
		"header":       strings.Replace(string(good), "@v1", "@v2", 1),
		"leading zero": strings.Replace(string(good), "index 7", "index 07", 1),
		"negative":     strings.Replace(string(good), "index 7", "index -7", 1),
		"no index":     strings.Replace(string(good), "index 7\n", "", 1),
		"bad hash":     strings.Replace(string(good), encodeHash(tlog.Hash{1}), "AAAA", 1),
		"no blank":     strings.Replace(string(good), "\n\n", "\n", 1),
		"extra b64":    strings.Replace(string(good), "index", "extra !!\nindex", 1),
	} {
		if _, err := ParseProof([]byte(in)); !errors.Is(err, ErrProofFormat) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestTilePaths(t *testing.T) {
	for _, tt := range []struct {
		level, n int64
		w        int
		path     string
	}{
		{0, 0, 256, "tile/0/000"},
		{0, 1234067, 256, "tile/0/x001/x234/067"},
		{1, 1000, 17, "tile/1/x001/000.p/17"},
		{-1, 5, 112, "tile/entries/005.p/112"},
	} {
		if got := TilePath(tt.level, tt.n, tt.w); got != tt.path {
			t.Errorf("TilePath(%d, %d, %d) = %q, want %q", tt.level, tt.n, tt.w, got, tt.path)
		}
		_, rest, _ := strings.Cut(strings.TrimPrefix(tt.path, "tile/"), "/")
		if n, w, err := parseTileIndex(rest); err != nil || n != tt.n || w != tt.w {
			t.Errorf("parseTileIndex(%q) = %d, %d, %v", rest, n, w, err)
		}
	}
	for _, bad := range []string{"1", "0001", "x000/001", "001/002", "x1/000", "000.p/0", "000.p/256", "000.p/01", "x001/000.p/x"} {
		if _, _, err := parseTileIndex(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParseCheckpoint(f *testing.F) {
	f.Add([]byte("log.example\n5\n" + encodeHash(tlog.Hash{9}) + "\next\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCheckpoint(data)
		if err != nil {
			return
		}
		if !bytes.Equal(c.Marshal(), data) {
			t.Fatalf("parse → marshal changed %q to %q", data, c.Marshal())
		}
	})
}

func FuzzParseProof(f *testing.F) {
	f.Add((&Proof{Extra: []byte{1}, Index: 7, Hashes: []tlog.Hash{{1}}, Checkpoint: []byte("c\n")}).Marshal())
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseProof(data)
		if err != nil {
			return
		}
		if !bytes.Equal(p.Marshal(), data) {
			t.Fatalf("parse → marshal changed %q to %q", data, p.Marshal())
		}
	})
}

func FuzzParseTileIndex(f *testing.F) {
	f.Add("x001/x234/067.p/12")
	f.Fuzz(func(t *testing.T, path string) {
		n, w, err := parseTileIndex(path)
		if err != nil {
			return
		}
		l := int64(0)
		if got := strings.TrimPrefix(TilePath(l, n, w), "tile/0/"); got != path {
			t.Fatalf("parse → format changed %q to %q", path, got)
		}
	})
}

func FuzzParseBundle(f *testing.F) {
	f.Add([]byte{0, 1, 'a', 0, 0}, 2)
	f.Fuzz(func(t *testing.T, data []byte, w int) {
		entries, err := parseBundle(data, w)
		if err != nil {
			return
		}
		var again []byte
		for _, e := range entries {
			again = append(again, byte(len(e)>>8), byte(len(e)))
			again = append(again, e...)
		}
		if !bytes.Equal(again, data) || len(entries) != w {
			t.Fatalf("bundle %x parsed into %d entries that re-encode differently", data, len(entries))
		}
	})
}

func FuzzParseHashLines(f *testing.F) {
	f.Add([]byte(encodeHash(tlog.Hash{1}) + "\n" + encodeHash(tlog.Hash{2}) + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		hashes, err := parseHashLines(data)
		if err != nil || len(hashes) == 0 {
			return
		}
		// The final newline is optional on input and always written.
		if got := marshalHashes(hashes); !bytes.Equal(got, data) && !bytes.Equal(got[:len(got)-1], data) {
			t.Fatalf("hash lines %q re-encode as %q", data, got)
		}
	})
}
