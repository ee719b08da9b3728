package witness

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"ssms.dev/ssms/translog"
)

// cosignLine signs cp's text with c and returns the signature line.
func cosignLine(t *testing.T, text string, c *Cosigner) string {
	t.Helper()
	s, err := note.Sign(&note.Note{Text: text}, c)
	if err != nil {
		t.Fatal(err)
	}
	_, l, _ := bytes.Cut(s, []byte("\n\n"))
	return string(l)
}

// relabel rewrites a cosignature line as if made by name with the same
// key: cosignature/v1 signs the checkpoint and the time, not the name, and
// the key hash is public arithmetic.
func relabel(line, name string, pub ed25519.PublicKey) string {
	sig, _ := base64.StdEncoding.DecodeString(strings.TrimSuffix(strings.Fields(line)[2], "\n"))
	binary.BigEndian.PutUint32(sig, keyHash(name, pub))
	return "— " + name + " " + base64.StdEncoding.EncodeToString(sig) + "\n"
}

func vkeyOf(name string, pub ed25519.PublicKey) string {
	return fmt.Sprintf("%s+%08x+%s", name, keyHash(name, pub), base64.StdEncoding.EncodeToString(append([]byte{algCosignatureV1}, pub...)))
}

// TestAttackFreshnessFromOneWitness: with quorum 2 and maxCheckpointAge 1h,
// one fresh cosignature and one a year old must not pass: one colluding
// witness would otherwise keep a frozen checkpoint looking fresh.
func TestAttackFreshnessFromOneWitness(t *testing.T) {
	log := newLog(t, "log.example")
	cp := log.grow(t, 3)
	now := time.Now()
	honest, v1 := newCosigner(t, "honest")
	colluding, v2 := newCosigner(t, "colluding")
	honest.now = func() time.Time { return now.AddDate(-1, 0, 0) }
	colluding.now = func() time.Time { return now }
	signed := string(cp.Raw) + cosignLine(t, cp.Note.Text, honest) + cosignLine(t, cp.Note.Text, colluding)
	q, err := CheckQuorum([]byte(signed), []string{v1, v2}, 2, now, time.Hour)
	if !errors.Is(err, ErrStale) {
		t.Fatalf("one fresh and one year-old cosignature passed a quorum of 2: %+v, %v", q, err)
	}
	// The result keeps each witness's time, for the caller's minLogAge.
	if len(q.Cosignatures) != 2 || !q.Cosignatures[0].Time.Equal(now.AddDate(-1, 0, 0).Truncate(time.Second)) {
		t.Errorf("cosignature times not exposed: %+v", q.Cosignatures)
	}
	// With a quorum of 1, the fresh one alone is enough.
	if q, err := CheckQuorum([]byte(signed), []string{v1, v2}, 1, now, time.Hour); err != nil || !q.Fresh.Equal(now.Truncate(time.Second)) {
		t.Fatalf("quorum 1: %+v %v", q, err)
	}
}

// TestAttackRelabelledWitness: one witness key listed under two names, and
// its one cosignature relabelled to the second name, must count once.
func TestAttackRelabelledWitness(t *testing.T) {
	log := newLog(t, "log.example")
	cp := log.grow(t, 3)
	c, v1 := newCosigner(t, "w1")
	pub := c.priv.Public().(ed25519.PublicKey)
	v2 := vkeyOf("w1-again", pub)
	line := cosignLine(t, cp.Note.Text, c)
	signed := string(cp.Raw) + line + relabel(line, "w1-again", pub)
	q, err := CheckQuorum([]byte(signed), []string{v1, v2}, 2, time.Now(), time.Hour)
	if !errors.Is(err, ErrQuorum) {
		t.Fatalf("one witness key under two names met a quorum of 2: %+v, %v", q, err)
	}
}

// TestAttackWeakWitnessKeys: witness vkeys holding the identity point (two
// of its encodings, as two witnesses) let one constant cosignature, valid
// for every checkpoint at any time, meet a quorum of 2.
func TestAttackWeakWitnessKeys(t *testing.T) {
	log := newLog(t, "log.example")
	cp := log.grow(t, 3)
	now := time.Now()
	var vkeys []string
	signed := string(cp.Raw)
	for i, h := range []string{
		"0100000000000000000000000000000000000000000000000000000000000000",
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	} {
		pub, _ := hex.DecodeString(h)
		name := fmt.Sprintf("evil%d", i)
		vkeys = append(vkeys, vkeyOf(name, pub))
		sig := binary.BigEndian.AppendUint32(nil, keyHash(name, pub))
		sig = binary.BigEndian.AppendUint64(sig, uint64(now.Unix()))
		rs, _ := hex.DecodeString("5866666666666666666666666666666666666666666666666666666666666666" +
			"0100000000000000000000000000000000000000000000000000000000000000") // R = B, S = 1
		signed += "— " + name + " " + base64.StdEncoding.EncodeToString(append(sig, rs...)) + "\n"
	}
	q, err := CheckQuorum([]byte(signed), vkeys, 2, now, time.Hour)
	if err == nil {
		t.Fatalf("constant cosignatures under weak keys met a quorum of 2: %+v", q)
	}
	for _, v := range vkeys {
		if _, err := NewVerifier(v); err == nil {
			t.Errorf("weak witness vkey %s accepted", v)
		}
	}
}

// servedFork signs, with log's key, a tree of n other entries, and serves
// it over HTTP, as a log that forked would.
func servedFork(t *testing.T, log *testLog, n int) (*translog.Store, string) {
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
	var batch [][]byte
	for i := range n {
		batch = append(batch, []byte(fmt.Sprintf("forked entry %d", i)))
	}
	if _, err := s.Append(batch); err != nil {
		t.Fatal(err)
	}
	seq := translog.NewSequencer(s, 16, 16)
	srv := httptest.NewServer(translog.NewServer(s, seq, translog.AdmitFunc(func([]byte) error { return nil })).Handler())
	t.Cleanup(func() { srv.Close(); seq.Close(); s.Close() })
	return s, srv.URL
}

// TestAttackForkEvidenceAtPowerOfTwo: a witness that cosigned size m and
// refuses a forked checkpoint of size n must keep conclusive evidence, for
// every m. When m is a power of two the log's RFC 6962 proof omits the
// root of size m, so the proof cannot show the fork; and a log can always
// send garbage. Given the log's URL, the witness reads that root from the
// log's tiles, authenticated by the forked checkpoint's signature.
func TestAttackForkEvidenceAtPowerOfTwo(t *testing.T) {
	for _, tt := range []struct {
		m, n    int
		garbage bool
	}{{1, 4, false}, {2, 8, false}, {4, 5, false}, {8, 9, false}, {3, 7, true}, {1, 2, true}} {
		t.Run(fmt.Sprintf("%d-%d garbage=%v", tt.m, tt.n, tt.garbage), func(t *testing.T) {
			log := newLog(t, "log.example")
			cp := log.grow(t, tt.m)
			fork, url := servedFork(t, log, tt.n)
			c, _ := newCosigner(t, "w1")
			dir := t.TempDir()
			w, err := New(dir, c, []string{log.vkey + "=" + url})
			if err != nil {
				t.Fatal(err)
			}
			// A twin witness without the log's URL keeps the checkpoints as
			// .incomplete evidence, unless the log's proof proves the fork.
			c2, _ := newCosigner(t, "w2")
			dir2 := t.TempDir()
			w2, err := New(dir2, c2, []string{log.vkey})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range []*Witness{w, w2} {
				if _, err := w.AddCheckpoint(request(0, nil, cp.Raw)); err != nil {
					t.Fatal(err)
				}
			}
			proof, _ := fork.ConsistencyProof(int64(tt.m), int64(tt.n))
			if tt.garbage {
				proof = []tlog.Hash{{1}, {2}}
			}
			for _, w := range []*Witness{w, w2} {
				if _, err := w.AddCheckpoint(request(int64(tt.m), proof, fork.Checkpoint().Raw)); !errors.Is(err, ErrBadProof) {
					t.Fatalf("forked checkpoint: err = %v, want ErrBadProof", err)
				}
			}
			kept, _ := filepath.Glob(filepath.Join(dir2, "evidence", "*"))
			if len(kept) != 1 {
				t.Errorf("witness without the log's URL kept %v", kept)
			}
			w.pending.Wait()
			files, _ := filepath.Glob(filepath.Join(dir, "evidence", "*.evidence"))
			if len(files) != 1 {
				t.Fatalf("fork %d→%d refused, evidence files: %v", tt.m, tt.n, files)
			}
			b, _ := os.ReadFile(files[0])
			e, err := translog.ParseEvidence(b)
			if err != nil {
				t.Fatal(err)
			}
			if what, err := e.Check(log.vkey); err != nil || !strings.Contains(what, "forked") {
				t.Fatalf("evidence: %q, %v", what, err)
			}
		})
	}
}

// TestCheckQuorumNewestPerKey: a witness that cosigned the same checkpoint
// twice counts once, at its newer time, whatever the order of the lines.
func TestCheckQuorumNewestPerKey(t *testing.T) {
	log := newLog(t, "log.example")
	cp := log.grow(t, 2)
	now := time.Now()
	c, v := newCosigner(t, "w1")
	c.now = func() time.Time { return now.Add(-48 * time.Hour) }
	old := cosignLine(t, cp.Note.Text, c)
	c.now = func() time.Time { return now }
	fresh := cosignLine(t, cp.Note.Text, c)
	q, err := CheckQuorum([]byte(string(cp.Raw)+old+fresh), []string{v}, 1, now, time.Hour)
	if err != nil || len(q.Cosignatures) != 1 || !q.Fresh.Equal(now.Truncate(time.Second)) {
		t.Fatalf("%+v, %v", q, err)
	}
}

// TestCheckQuorumSameVKeyTwice: during a rotation a verifier may pass the
// witness keys of two policies; the same vkey twice is one key, and must
// not make sumdb/note refuse every line as ambiguous.
func TestCheckQuorumSameVKeyTwice(t *testing.T) {
	log := newLog(t, "log.example")
	cp := log.grow(t, 2)
	c1, v1 := newCosigner(t, "w1")
	c2, v2 := newCosigner(t, "w2")
	signed := string(cp.Raw) + cosignLine(t, cp.Note.Text, c1) + cosignLine(t, cp.Note.Text, c2)
	q, err := CheckQuorum([]byte(signed), []string{v1, v2, v1, v2}, 2, time.Now(), time.Hour)
	if err != nil || len(q.Witnesses) != 2 {
		t.Fatalf("%+v, %v", q, err)
	}
}
