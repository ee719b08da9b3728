package updater

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/verifier"
	"ssms.dev/ssms/verifier/statedir"
)

func install(t *testing.T, f fixture, req Request) error {
	t.Helper()
	return f.with(t, func(d *statedir.Dir) error { return Install(d, req) })
}

func TestInstallConfirm(t *testing.T) {
	for _, first := range []bool{false, true} {
		f := newFixture(t, t.TempDir(), first)
		must(t, install(t, f, f.request()))
		if o, err := f.recover(t, t0.Add(time.Minute)); err != nil || o != Unconfirmed {
			t.Fatalf("Recover before the deadline: %v, %v; want unconfirmed", o, err)
		}
		must(t, f.with(t, func(d *statedir.Dir) error { return Confirm(d, f.path()) }))
		f.checkInvariants(t, Clean)
		if got, _ := os.ReadFile(f.path()); !bytes.Equal(got, newBinary) {
			t.Fatal("PATH is not the new binary")
		}
		if !first {
			if got, _ := os.ReadFile(previousPath(f.path())); !bytes.Equal(got, oldBinary) {
				t.Error("PATH.previous is not the old binary")
			}
		}
		// Confirmed: neither the deadline nor a second Confirm changes anything.
		if o, err := f.recover(t, t0.Add(24*time.Hour)); err != nil || o != Clean {
			t.Errorf("Recover after Confirm: %v, %v; want clean", o, err)
		}
		err := f.with(t, func(d *statedir.Dir) error { return Confirm(d, f.path()) })
		if !errors.Is(err, ErrNoInstall) {
			t.Errorf("second Confirm: %v, want ErrNoInstall", err)
		}
		err = f.with(t, func(d *statedir.Dir) error { return RollBack(d, f.path()) })
		if !errors.Is(err, ErrNoInstall) {
			t.Errorf("RollBack after Confirm: %v, want ErrNoInstall", err)
		}
	}
}

func TestRollBack(t *testing.T) {
	for _, first := range []bool{false, true} {
		root := t.TempDir()
		f := newFixture(t, root, first)
		before := snapshot(t, root)
		must(t, install(t, f, f.request()))
		must(t, f.with(t, func(d *statedir.Dir) error { return RollBack(d, f.path()) }))
		f.checkInvariants(t, RolledBack)
		after := snapshot(t, root)
		delete(before, "/bin/.ssms-download-app") // consumed by the install
		if first {
			if len(after) != 0 {
				t.Errorf("a rolled-back first install left %q", names(after))
			}
			continue
		}
		for name, want := range before {
			if after[name] != want {
				t.Errorf("%s not restored byte for byte", name)
			}
		}
	}
}

// TestConfirmRollingBack: a roll-back begun is never confirmed.
func TestConfirmRollingBack(t *testing.T) {
	f := newFixture(t, t.TempDir(), false)
	must(t, install(t, f, f.request()))
	j, err := readJournal(f.state)
	must(t, err)
	must(t, j.write(f.state, stepRollBack))
	err = f.with(t, func(d *statedir.Dir) error { return Confirm(d, f.path()) })
	if !errors.Is(err, ErrNoInstall) {
		t.Fatalf("Confirm: %v, want ErrNoInstall", err)
	}
	o, err := f.recover(t, t0)
	if err != nil || o != RolledBack {
		t.Fatalf("Recover: %v, %v; want rolled back", o, err)
	}
	f.checkInvariants(t, o)
}

// TestConfirmWrongBinary: Confirm demands the new digest at PATH.
func TestConfirmWrongBinary(t *testing.T) {
	f := newFixture(t, t.TempDir(), false)
	must(t, install(t, f, f.request()))
	must(t, os.WriteFile(f.path(), []byte("someone else's binary"), 0o755))
	err := f.with(t, func(d *statedir.Dir) error { return Confirm(d, f.path()) })
	var de *DigestError
	if !errors.As(err, &de) || !errors.Is(err, ErrUnexpectedFile) || de.Path != f.path() {
		t.Fatalf("Confirm: %v, want a *DigestError for %s", err, f.path())
	}
	// Recover after the deadline refuses too, and leaves the journal.
	if _, err := f.recover(t, t0.Add(time.Hour)); !errors.Is(err, ErrUnexpectedFile) {
		t.Fatalf("Recover: %v, want ErrUnexpectedFile", err)
	}
	if _, err := os.Stat(journalPath(f.state)); err != nil {
		t.Errorf("journal: %v, want it kept for a person to look at", err)
	}
}

func TestInstallRefuses(t *testing.T) {
	other := manifest.DigestBytes([]byte("other"))
	tests := []struct {
		name string
		edit func(f fixture, r *Request)
		want string
	}{
		{"digest", func(f fixture, r *Request) {
			b := bytes.Clone(newBinary)
			b[7] ^= 1
			os.WriteFile(f.staged(), b, 0o600)
		}, "the staged artifact"},
		{"longer", func(f fixture, r *Request) { r.Size-- }, "longer than its signed size"},
		{"shorter", func(f fixture, r *Request) { r.Size++ }, "the staged artifact (16800 bytes, 16801 verified)"},
		{"other digest", func(f fixture, r *Request) { r.Digest = other }, "does not record"},
		{"not verified", func(f fixture, r *Request) { r.Result = &verifier.Result{Next: stateFor([]byte("x"), "2")} }, "does not record"},
		{"no result", func(f fixture, r *Request) { r.Result = nil }, "no verified result"},
		{"other directory", func(f fixture, r *Request) { r.Staged = filepath.Join(f.root, "app.new") }, "is not in"},
		{"relative", func(f fixture, r *Request) { r.Path = "bin/app" }, "not absolute"},
		{"previous name", func(f fixture, r *Request) { r.Staged = previousPath(r.Path) }, "has a name the install uses"},
		{"no time", func(f fixture, r *Request) { r.Now = time.Time{} }, "not set"},
		{"window", func(f fixture, r *Request) { r.ConfirmWithin = time.Millisecond }, "outside"},
		{"same version", func(f fixture, r *Request) {
			os.WriteFile(r.Path, newBinary, 0o755)
		}, "already"},
		{"symlink", func(f fixture, r *Request) {
			os.Rename(r.Path, r.Path+"-1")
			os.Symlink(r.Path+"-1", r.Path)
		}, "not a regular file"},
		{"pending", func(f fixture, r *Request) {
			install(&testing.T{}, f, f.request())
			os.WriteFile(f.staged(), newBinary, 0o600)
		}, "call Recover"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, t.TempDir(), false)
			req := f.request()
			tt.edit(f, &req)
			before := snapshot(t, f.root)
			err := install(t, f, req)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error with %q", err, tt.want)
			}
			if after := snapshot(t, f.root); len(after) != len(before) {
				t.Errorf("files changed: %q → %q", names(before), names(after))
			}
			for name, b := range before {
				if snapshot(t, f.root)[name] != b {
					t.Errorf("%s changed", name)
				}
			}
		})
	}
}

func goodJournal(t *testing.T) *journal {
	fx := newFixture(t, t.TempDir(), false)
	j, err := begin(fx.state, fx.request())
	must(t, err)
	j.Step = stepSwap
	return j
}

func must2[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestJournalCorrupt(t *testing.T) {
	if _, err := parseJournal(must2(marshalJournal(goodJournal(t)))); err != nil {
		t.Fatalf("a good journal: %v", err)
	}
	for _, data := range []string{
		"", "{", "not json\n",
		`{"version":2}`,
		// canonical but for the missing final newline, or white space
		strings.TrimSuffix(string(must2(marshalJournal(goodJournal(t)))), "\n"),
		strings.Replace(string(must2(marshalJournal(goodJournal(t)))), ",", ", ", 1),
		`{"version":1,"step":"swap","path":"/a/app","staged":"/b/x","product":"app","old":"","new":"sha256:00","size":1,"hadState":false,"prevState":"","nextState":"","confirmWithin":60,"deadline":""}`,
	} {
		f := newFixture(t, t.TempDir(), false)
		must(t, os.WriteFile(journalPath(f.state), []byte(data), 0o600))
		before := snapshot(t, f.root)
		_, err := f.recover(t, t0)
		if !errors.Is(err, ErrJournalCorrupt) {
			t.Errorf("%q: %v, want ErrJournalCorrupt", data, err)
		}
		if after := snapshot(t, f.root); len(after) != len(before) {
			t.Errorf("%q: files changed", data)
		}
	}
}

// A journal that parses marshals to exactly the bytes parsed.
func FuzzJournal(f *testing.F) {
	fx := newFixture(f, f.TempDir(), false)
	j, err := begin(fx.state, fx.request())
	must(f, err)
	j.Step = stepCommitted
	j.Deadline = "2026-11-27T04:01:00Z"
	good, err := marshalJournal(j)
	must(f, err)
	f.Add(good)
	f.Add(bytes.Replace(good, []byte(`"committed"`), []byte(`"swap"`), 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := parseJournal(data)
		if err != nil {
			return
		}
		b, err := marshalJournal(j)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, data) {
			t.Fatalf("parsed %q, marshals to %q", data, b)
		}
	})
}

// TestRecoverOtherPath: a journal for another binary is left alone.
func TestRecoverOtherPath(t *testing.T) {
	f := newFixture(t, t.TempDir(), false)
	must(t, install(t, f, f.request()))
	before := snapshot(t, f.root)
	err := f.with(t, func(d *statedir.Dir) error {
		_, err := Recover(d, filepath.Join(f.bin, "other"), t0.Add(time.Hour))
		return err
	})
	if !errors.Is(err, ErrPending) || !strings.Contains(err.Error(), f.path()) {
		t.Fatalf("Recover: %v, want ErrPending naming %s", err, f.path())
	}
	if after := snapshot(t, f.root); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Error("files changed")
	}
}
