package updater

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/verifier/statedir"
)

// The crash points of an install, then of a roll-back, in order.
var (
	installPoints  = []string{"stage", "staged", "swap", "previous", "renamed", "swapped", "commit", "saved", "committed"}
	rollBackPoints = []string{"rollback", "restored-state", "restored-renamed", "restored-binary"}
)

// The child process: run by TestCrash with these variables set, it
// installs (and rolls back, for a roll-back point) and kills itself with
// SIGKILL at the point named.
const (
	envRoot     = "UPDATER_TEST_ROOT"
	envPoint    = "UPDATER_TEST_CRASH_AT"
	envFirst    = "UPDATER_TEST_FIRST"
	envPowerCut = "UPDATER_TEST_POWER_CUT"
)

func TestMain(m *testing.M) {
	if point := os.Getenv(envPoint); point != "" {
		os.Exit(child(os.Getenv(envRoot), point, os.Getenv(envFirst) != "", os.Getenv(envPowerCut) != ""))
	}
	os.Exit(m.Run())
}

func child(root, point string, first, powerCut bool) int {
	crash = func(p string) {
		if p == point {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way
		}
	}
	if powerCut {
		recordRenames(root)
	}
	f := fixture{root: root, bin: filepath.Join(root, "bin"), state: filepath.Join(root, "state"), first: first}
	var t testing.T // only for helpers' Fatal, which this run never reaches
	err := f.with(&t, func(d *statedir.Dir) error {
		if err := Install(d, f.request()); err != nil {
			return err
		}
		return RollBack(d, f.path())
	})
	fmt.Fprintf(os.Stderr, "crash point %s not reached: %v\n", point, err)
	return 3
}

// TestCrash kills an install with SIGKILL at each step, and a roll-back
// at each of its steps, then demands that Recover leaves the old or the
// new binary at PATH, recorded by the state, with no temporary file, and
// that a second Recover changes nothing. With power cut, the renames not
// yet made durable by a directory sync are also undone before Recover.
func TestCrash(t *testing.T) {
	exe, err := os.Executable()
	must(t, err)
	for _, first := range []bool{false, true} {
		for _, powerCut := range []bool{false, true} {
			for _, point := range append(installPoints, rollBackPoints...) {
				name := fmt.Sprintf("first=%v/powercut=%v/%s", first, powerCut, point)
				if first && (point == "previous" || point == "restored-renamed") {
					continue // a first install has no previous binary
				}
				// Not parallel: a child forked by one subtest would hold
				// (until its exec) the state lock another just closed.
				t.Run(name, func(t *testing.T) { crashAt(t, exe, point, first, powerCut) })
			}
		}
	}
}

func crashAt(t *testing.T, exe, point string, first, powerCut bool) {
	root := filepath.Join(t.TempDir(), "fs")
	f := newFixture(t, root, first)
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), envRoot+"="+root, envPoint+"="+point)
	if first {
		cmd.Env = append(cmd.Env, envFirst+"=1")
	}
	if powerCut {
		cmd.Env = append(cmd.Env, envPowerCut+"=1")
	}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child: %v, want killed by SIGKILL\n%s", err, out)
	}
	if powerCut {
		undoUnsynced(t, root)
	}
	f.checkNotAhead(t)
	// As if a kill inside atomicfile.Write had also left its temporary
	// files (that window has no crash point of its own).
	for _, name := range []string{".install.journal.tmp-1", ".state.json.tmp-2"} {
		must(t, os.WriteFile(filepath.Join(f.state, name), []byte("half"), 0o600))
	}
	o, err := f.recover(t, t0)
	if err != nil {
		t.Fatalf("Recover: %v", err)
	}
	f.checkInvariants(t, o)
	before := snapshot(t, root)
	o2, err := f.recover(t, t0)
	if err != nil || (o2 != Clean && o2 != Unconfirmed) {
		t.Fatalf("second Recover: %v, %v", o2, err)
	}
	if after := snapshot(t, root); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("the second Recover changed files: %q → %q", names(before), names(after))
	}
	if o == Unconfirmed || o == Finished {
		// Past the deadline, the unconfirmed install is rolled back.
		o, err := f.recover(t, t0.Add(time.Hour))
		if err != nil || o != RolledBack {
			t.Fatalf("Recover after the deadline: %v, %v", o, err)
		}
		f.checkInvariants(t, o)
		if got, _ := os.ReadFile(f.path()); !first && string(got) != string(oldBinary) {
			t.Errorf("not rolled back to the old binary")
		}
	}
}

// checkNotAhead demands, on the disk as the crash left it, that the state
// records the new binary only if PATH holds it.
func (f fixture) checkNotAhead(t *testing.T) {
	t.Helper()
	st, err := statedir.Read(f.state)
	must(t, err)
	in := st.Products["app"]
	if in == nil || in.Artifacts[0].Digest != manifest.DigestBytes(newBinary) {
		return
	}
	if got, _ := os.ReadFile(f.path()); string(got) != string(newBinary) {
		t.Fatalf("after the crash the state records the new binary, but %s is not it", f.path())
	}
}

// A power cut loses a rename whose directory was not synced since. The
// child logs each rename (with a copy of what it replaced) to ROOT/../renames
// and clears the log when the directory is synced; undoUnsynced undoes the
// renames left in the log, last first. The journal and the state are
// written by atomicfile, which syncs the directory before the next crash
// point, so only this package's renames can be lost.
type renameRecord struct{ From, To, Saved string }

func recordRenames(root string) {
	log := filepath.Join(root, "..", "renames")
	n := 0
	rename = func(from, to string) error {
		rec := renameRecord{From: from, To: to}
		if b, err := os.ReadFile(to); err == nil {
			n++
			rec.Saved = filepath.Join(root, "..", fmt.Sprintf("saved-%d", n))
			if err := os.WriteFile(rec.Saved, b, 0o600); err != nil {
				return err
			}
		}
		b, _ := json.Marshal(rec)
		lf, err := os.OpenFile(log, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		defer lf.Close()
		if _, err := lf.Write(append(b, '\n')); err != nil {
			return err
		}
		return os.Rename(from, to)
	}
	sync := syncDir
	syncDir = func(dir string) error {
		if dir == filepath.Join(root, "bin") {
			if err := os.Remove(log); err != nil && !os.IsNotExist(err) {
				return err
			}
		}
		return sync(dir)
	}
}

func undoUnsynced(t *testing.T, root string) {
	log := filepath.Join(root, "..", "renames")
	b, err := os.ReadFile(log)
	if os.IsNotExist(err) {
		return
	}
	must(t, err)
	var recs []renameRecord
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		var r renameRecord
		must(t, json.Unmarshal(sc.Bytes(), &r))
		recs = append(recs, r)
	}
	for i := len(recs) - 1; i >= 0; i-- {
		r := recs[i]
		must(t, os.Rename(r.To, r.From))
		if r.Saved != "" {
			must(t, os.Rename(r.Saved, r.To))
		}
	}
	must(t, os.Remove(log))
	t.Logf("power cut lost %d rename(s)", len(recs))
}
