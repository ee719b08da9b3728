package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"ssms.dev/ssms/internal/releasetest"
	"ssms.dev/ssms/updater"
)

// TestSelfCheck runs a real smp-client: its network commands refuse a
// development build, run it with --allow-unverified and a warning, and run
// a verified install; contacts, which is local, runs either way.
func TestSelfCheck(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bin", "smp-client")
	if err := releasetest.Build(path, "ssms.dev/ssms/cmd/smp-client"); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, bool) {
		t.Helper()
		cmd := exec.Command(path, append([]string{"--state", filepath.Join(dir, "alice.state")}, args...)...)
		cmd.Env = append(os.Environ(), "SMP_CLIENT_PASSWORD=correct horse", "SSMS_POLICY=", "SSMS_STATE=")
		out, err := cmd.CombinedOutput()
		return string(out), err == nil
	}
	// send to a contact that does not exist: the error after the check.
	const noContact = "no state file here" // the error after the check
	out, _ := run("send", "bob", "hi")
	if !strings.Contains(out, "smp-client: error: refusing to run: not installed through ssms update") ||
		!strings.Contains(out, "smp-client: hint: install a verified build with `ssms update --product smp-client --install "+path) ||
		!strings.Contains(out, "pass --install-state") || strings.Contains(out, noContact) {
		t.Fatalf("a development build:\n%s", out)
	}
	if out, _ := run("contacts"); strings.Contains(out, "refusing") || !strings.Contains(out, "no state file here") {
		t.Fatalf("contacts is local and runs unchecked (to its own error, on no state):\n%s", out)
	}
	out, _ = run("--allow-unverified", "send", "bob", "hi")
	if !strings.Contains(out, "smp-client: WARNING: running an unverified build: not installed through ssms update") || !strings.Contains(out, noContact) {
		t.Fatalf("--allow-unverified:\n%s", out)
	}

	w, err := releasetest.New("smp-client", "smp-server")
	must(t, err)
	bin, err := os.ReadFile(path)
	must(t, err)
	bundle, err := w.Release("smp-client", "1.0.0", 1, map[string][]byte{"smp-client": bin})
	must(t, err)
	state := filepath.Join(dir, "install-state")
	must(t, w.Record(state, "smp-client", bundle, "smp-client", bin))
	policy := filepath.Join(dir, "policy.json")
	must(t, os.WriteFile(policy, w.PolicyFile, 0o644))
	out, _ = run("--policy", policy, "--install-state", state, "send", "bob", "hi")
	if strings.Contains(out, "refusing") || strings.Contains(out, "WARNING") || !strings.Contains(out, noContact) {
		t.Fatalf("a verified install:\n%s", out)
	}
	out, ok := run("--policy", policy, "--install-state", state, "--version")
	if !ok || !strings.Contains(out, "smp-client devel\n") || !strings.Contains(out, "verified: release 1.0.0 of smp-client (log index 1)") {
		t.Fatalf("--version:\n%s", out)
	}
	// SSMS_STATE stands for --install-state; the wrong product's install
	// does not count.
	cmd := exec.Command(path, "--policy", policy, "--version")
	cmd.Env = append(os.Environ(), "SSMS_STATE="+state)
	b, err := cmd.Output()
	if err != nil || !strings.Contains(string(b), "verified: release 1.0.0 of smp-client") {
		t.Fatalf("SSMS_STATE: %v\n%s", err, b)
	}
	pinned, err := w.Pinned()
	must(t, err)
	if _, err := updater.SelfCheck(updater.Check{Product: "smp-server", Pinned: pinned, Path: path, StateDir: state}); !errors.Is(err, updater.ErrNotInstalled) {
		t.Fatalf("smp-client's install checked as smp-server: %v", err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
