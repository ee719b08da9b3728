package startcheck

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ssms.dev/ssms/internal/dirlock"
	"ssms.dev/ssms/internal/releasetest"
	"ssms.dev/ssms/updater"
	"ssms.dev/ssms/verifier"
	"ssms.dev/ssms/verifier/statedir"
)

func options() *Options {
	return &Options{Prog: "smp-server", Product: "smp-server"}
}

func TestPinned(t *testing.T) {
	t.Setenv(PolicyEnv, "")
	p, err := options().pinned()
	if err != nil || p.Version != 1 || !strings.Contains(strings.Join(p.Products, " "), "smp-server") {
		t.Fatalf("the embedded policy: %+v, %v", p, err)
	}
	w, err := releasetest.New("smp-server")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "policy.json")
	os.WriteFile(good, w.PolicyFile, 0o644)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"payload":`), 0o644)
	o := options()
	o.Policy = good
	if p, err := o.pinned(); err != nil || p.Digest() != w.Policy.Digest() {
		t.Fatalf("--policy: %v", err)
	}
	t.Setenv(PolicyEnv, good)
	if p, err := options().pinned(); err != nil || p.Digest() != w.Policy.Digest() {
		t.Fatalf("%s: %v", PolicyEnv, err)
	}
	for _, tc := range []struct{ file, want string }{
		{bad, "--policy " + bad + ": "},
		{filepath.Join(dir, "none.json"), "no such file"},
	} {
		o.Policy = tc.file
		if _, err := o.pinned(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("--policy %s: got %v, want %q", tc.file, err, tc.want)
		}
		// --allow-unverified does not excuse a bad --policy.
		o.AllowUnverified = true
		if err := o.Run(&strings.Builder{}); err == nil {
			t.Fatal("Run with a bad --policy passed")
		}
	}
}

// The test binary is no verified install: Run refuses it, with a hint, or
// warns with --allow-unverified.
func TestRunUnverified(t *testing.T) {
	t.Setenv(PolicyEnv, "")
	t.Setenv(StateEnv, filepath.Join(t.TempDir(), "none"))
	var stderr strings.Builder
	err := options().Run(&stderr)
	if !errors.Is(err, updater.ErrNotInstalled) || stderr.Len() != 0 {
		t.Fatalf("got %v, stderr %q", err, stderr.String())
	}
	o := options()
	o.AllowUnverified = true
	if err := o.Run(&stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stderr.String(), "smp-server: WARNING: running an unverified build: not installed through ssms update") {
		t.Fatalf("stderr: %q", stderr.String())
	}
	var out strings.Builder
	o.PrintVersion(&out, "9.9.9")
	if !strings.HasPrefix(out.String(), "smp-server 9.9.9\ncommit: ") || !strings.Contains(out.String(), "\nnot verified: not installed through ssms update") {
		t.Fatalf("--version:\n%s", out.String())
	}
}

func TestHints(t *testing.T) {
	o := options()
	for _, tc := range []struct {
		err  error
		want string
	}{
		{updater.ErrNotInstalled, "install a verified build with `ssms update --product smp-server"},
		{updater.ErrNotInstalledRelease, "changed or replaced after its install"},
		{statedir.ErrBundleMissing, "the state directory is damaged"},
		{fmt.Errorf("%w: %w", updater.ErrSelfCheck, verifier.ErrPolicyChain), "does not verify under the pinned policy"},
		{&dirlock.InUseError{Dir: "d", PID: 7}, "an update holds the state directory"},
		{errors.New("disk on fire"), "--allow-unverified"},
	} {
		if got := o.hint(tc.err); !strings.Contains(got, tc.want) {
			t.Errorf("%v: hint %q, want %q", tc.err, got, tc.want)
		}
	}
	// A replaced binary, a damaged state, a release that does not verify:
	// never the advice to run it anyway.
	for _, err := range []error{updater.ErrNotInstalledRelease, statedir.ErrBundleMissing, fmt.Errorf("%w: x", updater.ErrSelfCheck)} {
		if got := o.hint(err); strings.Contains(got, "--allow-unverified") {
			t.Errorf("%v: hint %q suggests --allow-unverified", err, got)
		}
	}
}

func TestRestart(t *testing.T) {
	var got string
	o := options()
	o.exec = func(path string, args, env []string) error {
		got = path
		return errors.New("exec refused")
	}
	var stderr strings.Builder
	err := o.restart(&stderr, fmt.Errorf("%w: because", updater.ErrRolledBack))
	exe, _ := updater.Executable()
	if got != exe || err == nil || !strings.Contains(err.Error(), "restarting "+exe) {
		t.Fatalf("exec'd %q, want %q; error %v", got, exe, err)
	}
	if !strings.Contains(stderr.String(), "smp-server: error: the update was rolled back: because\nsmp-server: restarting the previous version") {
		t.Fatalf("stderr: %q", stderr.String())
	}
}

func TestRestartAfterFirstInstall(t *testing.T) {
	gone := filepath.Join(t.TempDir(), "smp-server")
	executable = func() (string, error) { return gone, nil }
	t.Cleanup(func() { executable = updater.Executable })
	o := options()
	o.exec = func(string, []string, []string) error { t.Fatal("exec of a missing file"); return nil }
	err := o.restart(&strings.Builder{}, updater.ErrRolledBack)
	if err == nil || !strings.Contains(err.Error(), "no previous version to restart") {
		t.Fatalf("got %v", err)
	}
}
