package updater

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/verifier"
	"ssms.dev/ssms/verifier/statedir"
)

var (
	oldBinary = bytes.Repeat([]byte("old binary v1\n"), 1000)
	newBinary = bytes.Repeat([]byte("new binary v2\n"), 1200)
	t0        = time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
)

// fixture is an install directory and a state directory under root.
type fixture struct {
	root, bin, state string
	first            bool // no old binary, no state: a first install
}

func (f fixture) path() string   { return filepath.Join(f.bin, "app") }
func (f fixture) staged() string { return filepath.Join(f.bin, ".ssms-download-app") }

// newFixture makes root/bin with the old binary (unless first) and the
// staged new one, and root/state with the state recording the old binary.
func newFixture(t testing.TB, root string, first bool) fixture {
	t.Helper()
	f := fixture{root: root, bin: filepath.Join(root, "bin"), state: filepath.Join(root, "state"), first: first}
	for _, d := range []string{f.bin, f.state} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if !first {
		must(t, os.WriteFile(f.path(), oldBinary, 0o755))
		b, err := stateFor(oldBinary, "1").Marshal()
		must(t, err)
		must(t, os.WriteFile(filepath.Join(f.state, "state.json"), b, 0o600))
	}
	must(t, os.WriteFile(f.staged(), newBinary, 0o600))
	return f
}

// stateFor is a state whose product app is installed as binary.
func stateFor(binary []byte, version string) *verifier.State {
	s := verifier.NewState()
	s.Logs["log.example"] = "checkpoint " + version
	s.Products["app"] = &verifier.Installed{Version: version, Sequence: uint64(len(version)),
		Artifacts: []manifest.Subject{manifest.SizedSubject("app", manifest.DigestBytes(binary), int64(len(binary)))}}
	return s
}

func (f fixture) request() Request {
	return Request{Path: f.path(), Staged: f.staged(), Product: "app",
		Digest: manifest.DigestBytes(newBinary), Size: int64(len(newBinary)),
		Result: &verifier.Result{Next: stateFor(newBinary, "2")}, Now: t0, ConfirmWithin: time.Minute}
}

// with opens the state directory, runs fn and closes it.
func (f fixture) with(t testing.TB, fn func(d *statedir.Dir) error) error {
	t.Helper()
	d, err := statedir.Open(f.state)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	return fn(d)
}

func (f fixture) recover(t testing.TB, now time.Time) (Outcome, error) {
	var o Outcome
	err := f.with(t, func(d *statedir.Dir) (err error) {
		o, err = Recover(d, f.path(), now)
		return err
	})
	return o, err
}

// snapshot is every file under root, by name, with its content and mode.
func snapshot(t testing.TB, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || filepath.Base(p) == ".lock" {
			return err
		}
		b, err := os.ReadFile(p)
		m[p[len(root):]] = fi.Mode().String() + " " + string(b)
		return err
	})
	must(t, err)
	return m
}

func names(m map[string]string) []string {
	var s []string
	for k := range m {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// checkInvariants demands that PATH is the old or the new binary, that the
// state records what is at PATH, and that no temporary file is left.
func (f fixture) checkInvariants(t *testing.T, o Outcome) {
	t.Helper()
	got, err := os.ReadFile(f.path())
	var installed []byte
	switch {
	case f.first && os.IsNotExist(err):
		installed = nil
	case err != nil:
		t.Fatal(err)
	case bytes.Equal(got, oldBinary) && !f.first:
		installed = oldBinary
	case bytes.Equal(got, newBinary):
		installed = newBinary
		if fi, _ := os.Stat(f.path()); fi.Mode().Perm() != 0o755 {
			t.Errorf("mode %v, want 0755", fi.Mode())
		}
	default:
		t.Fatalf("%s is neither the old nor the new binary (%d bytes)", f.path(), len(got))
	}
	st, err := statedir.Read(f.state)
	must(t, err)
	in := st.Products["app"]
	switch {
	case installed == nil && in != nil:
		t.Errorf("no binary, but the state records %s", in.Version)
	case installed != nil && (in == nil || in.Artifacts[0].Digest != manifest.DigestBytes(installed)):
		t.Errorf("the state does not record the binary at %s", f.path())
	}
	want := []string{"/bin/app", "/state/state.json"}
	if installed == nil {
		want = want[:0]
	}
	if !f.first && bytes.Equal(installed, newBinary) {
		want = []string{"/bin/app", "/bin/app.previous", "/state/state.json"}
	}
	if o == Unconfirmed || o == Finished {
		want = append(want, "/state/install.journal")
		sort.Strings(want)
	}
	files := snapshot(t, f.root)
	if bytes.Equal(installed, oldBinary) && files["/bin/app.previous"] == files["/bin/app"] {
		// An install undone after PATH.previous was made: a second name
		// of the old binary, which the next install replaces.
		delete(files, "/bin/app.previous")
	}
	if got := names(files); !equal(got, want) {
		t.Errorf("files after %v: got %q, want %q", o, got, want)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
