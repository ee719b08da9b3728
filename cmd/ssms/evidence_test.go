package main

import (
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ssms.dev/ssms/translog"
)

// TestAttackEvidenceUnderAnotherKey: evidence signed by any key named like
// the real log (here: a key made with the real log's origin, signing two
// roots for one size) must not be "proven" against the real log, and
// verify-evidence must not run without a trusted key.
func TestAttackEvidenceUnderAnotherKey(t *testing.T) {
	tmp := t.TempDir()
	realVKey, err := translog.Init(filepath.Join(tmp, "real"), "log.test")
	if err != nil {
		t.Fatal(err)
	}
	fakeVKey, err := translog.Init(filepath.Join(tmp, "fake"), "log.test")
	if err != nil {
		t.Fatal(err)
	}
	// A second tree of the same size, signed with the fake key.
	twin := filepath.Join(tmp, "twin")
	translog.Init(twin, "log.test")
	for _, f := range []string{"log.key", "log.vkey"} {
		b, _ := os.ReadFile(filepath.Join(tmp, "fake", f))
		os.WriteFile(filepath.Join(twin, f), b, 0o600)
	}
	os.Remove(filepath.Join(twin, "checkpoint"))
	var cps [][]byte
	for _, d := range []string{"fake", "twin"} {
		s, err := translog.Open(filepath.Join(tmp, d))
		if err != nil {
			t.Fatal(err)
		}
		s.Append([][]byte{[]byte("entry in " + d)})
		cps = append(cps, s.Checkpoint().Raw)
		s.Close()
	}
	file := filepath.Join(tmp, "forged.evidence")
	os.WriteFile(file, translog.NewEvidence(fakeVKey, cps[0], cps[1], nil, "a stranger").Marshal(), 0o644)

	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"verify-evidence", file}, 1, "give the log key to check the evidence against"},
		{[]string{"verify-evidence", file, "--vkey", realVKey}, 1, "evidence names another log key than the trusted one"},
		{[]string{"verify-evidence", file, "--vkey", fakeVKey}, 0, "(given with --vkey)"}, // true, of the fake log
	} {
		var out, errb bytes.Buffer
		code := run(tt.args, &out, &errb)
		if code != tt.code || !strings.Contains(out.String()+errb.String(), tt.want) {
			t.Errorf("ssms %s: exit %d, %s%s; want exit %d and %q", strings.Join(tt.args, " "), code, out.String(), errb.String(), tt.code, tt.want)
		}
	}
}

// TestCompleteEvidence: a witness without the log's URL keeps a fork from
// size 1 to 4 as .incomplete evidence (the log's proof omits the root of
// size 1); verify-evidence completes it from the log's tiles, and the
// completed file proves the fork offline.
func TestCompleteEvidence(t *testing.T) {
	tmp := t.TempDir()
	vkey, err := translog.Init(filepath.Join(tmp, "log"), "log.test")
	if err != nil {
		t.Fatal(err)
	}
	fork := filepath.Join(tmp, "fork")
	translog.Init(fork, "log.test")
	for _, f := range []string{"log.key", "log.vkey"} {
		b, _ := os.ReadFile(filepath.Join(tmp, "log", f))
		os.WriteFile(filepath.Join(fork, f), b, 0o600)
	}
	os.Remove(filepath.Join(fork, "checkpoint"))
	s, _ := translog.Open(filepath.Join(tmp, "log"))
	s.Append([][]byte{[]byte("honest")})
	old := s.Checkpoint()
	s.Close()
	f, err := translog.Open(fork)
	if err != nil {
		t.Fatal(err)
	}
	f.Append([][]byte{[]byte("a"), []byte("b"), []byte("c"), []byte("d")})
	seq := translog.NewSequencer(f, 16, 16)
	srv := httptest.NewServer(translog.NewServer(f, seq, translog.AdmitFunc(func([]byte) error { return nil })).Handler())
	defer func() { srv.Close(); seq.Close(); f.Close() }()
	proof, _ := f.ConsistencyProof(1, 4)
	incomplete := filepath.Join(tmp, "w.incomplete")
	os.WriteFile(incomplete, translog.NewEvidence(vkey, old.Raw, f.Checkpoint().Raw, proof, "witness w").Marshal(), 0o644)
	complete := filepath.Join(tmp, "w.evidence")

	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"verify-evidence", incomplete, "--vkey", vkey}, 1, "add --log URL"},
		{[]string{"verify-evidence", incomplete, "--vkey", vkey, "--log", srv.URL, "--out", complete}, 0, "completed from the log's tiles"},
		{[]string{"verify-evidence", complete, "--vkey", vkey}, 0, "proven: log log.test forked"},
	} {
		var out, errb bytes.Buffer
		code := run(tt.args, &out, &errb)
		if code != tt.code || !strings.Contains(out.String()+errb.String(), tt.want) {
			t.Errorf("ssms %s: exit %d, %s%s; want exit %d and %q", strings.Join(tt.args, " "), code, out.String(), errb.String(), tt.code, tt.want)
		}
	}
}
