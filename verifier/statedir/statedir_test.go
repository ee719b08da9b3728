package statedir

import (
	"errors"
	"os"
	"testing"
	"time"

	"ssms.dev/ssms/internal/dirlock"
	"ssms.dev/ssms/translog"
	"ssms.dev/ssms/verifier"
)

func TestStateDir(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := Open(dir); !errors.Is(err, dirlock.ErrInUse) {
		t.Fatalf("second Open = %v; want the directory in use", err)
	}
	st, err := d.Load()
	if err != nil || len(st.Products) != 0 {
		t.Fatalf("empty directory: %v, %+v", err, st)
	}
	st.Products["app"] = &verifier.Installed{Version: "1.0.0", Sequence: 3}
	if err := d.Save(st); err != nil {
		t.Fatal(err)
	}
	again, err := d.Load()
	if err != nil || again.Products["app"].Sequence != 3 {
		t.Fatalf("Load after Save: %v, %+v", err, again)
	}
	if info, _ := os.Stat(d.Path()); info.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode %v", info.Mode())
	}
	os.WriteFile(d.Path(), []byte(`{"version":1,"logs":{`), 0o600) // a power cut
	if _, err := d.Load(); !errors.Is(err, verifier.ErrStateCorrupt) {
		t.Fatalf("truncated state: %v", err)
	}
}

func TestSaveEvidenceNeverOverwrites(t *testing.T) {
	d, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ev := translog.NewEvidence("vkey", []byte("a"), []byte("b"), nil, "test")
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	p1, err1 := d.SaveEvidence(ev, now)
	p2, err2 := d.SaveEvidence(ev, now)
	if err1 != nil || err2 != nil || p1 == p2 {
		t.Fatalf("SaveEvidence: %s %v, %s %v", p1, err1, p2, err2)
	}
}
