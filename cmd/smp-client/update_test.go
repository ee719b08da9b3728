package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ssms.dev/ssms/internal/updatetest"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/updater/mirror"
)

// TestUpdate: smp-client update (run in the test binary, a development
// build: update checks what it installs, not itself) says what is newest
// with --check, installs it, installs a newer one as JSON, and refuses a
// tampered artifact with a SECURITY ERROR and a failure report, keeping
// the version installed.
func TestUpdate(t *testing.T) {
	p := updatetest.New(t, "smp-client")
	bin := filepath.Join(t.TempDir(), "bin", "smp-client")
	state := filepath.Join(t.TempDir(), "install-state")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSMS_POLICY", p.PolicyFile)
	t.Setenv("SSMS_STATE", "")
	update := func(args ...string) (string, string, int) {
		t.Helper()
		var out, errOut bytes.Buffer
		code := run(append([]string{"update", "--install", bin, "--install-state", state, "--mirror", p.Mirror}, args...), strings.NewReader(""), &out, &errOut)
		return out.String(), errOut.String(), code
	}
	installed := func() string {
		b, _ := os.ReadFile(bin)
		return string(b)
	}

	p.Publish("1.0.0", 1, []byte("smp-client 1.0.0"))
	out, errOut, code := update("--check")
	if code != 0 || out != "smp-client 1.0.0 is in the log (entry 1); installed: nothing\n" || installed() != "" {
		t.Fatalf("--check: exit %d, stdout %q, stderr %q, installed %q", code, out, errOut, installed())
	}
	out, errOut, code = update()
	want := "installed smp-client 1.0.0 (was: nothing) from " + p.Mirror + "\n  signed by [alice bob], log entry 1, rebuilt by [r1 r2]\n"
	if code != 0 || out != want || installed() != "smp-client 1.0.0" {
		t.Fatalf("update: exit %d, stdout %q, want %q; stderr %q", code, out, want, errOut)
	}
	if _, err := os.Stat(filepath.Join(state, "state.json")); err != nil {
		t.Fatalf("--install-state: %v", err)
	}

	p.Publish("1.1.0", 2, []byte("smp-client 1.1.0"))
	out, errOut, code = update("--json")
	var got struct {
		Product, Running, Newest, Installed string
		Reports                             []string
	}
	if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil {
		t.Fatalf("--json: exit %d, %v, stdout %q, stderr %q", code, err, out, errOut)
	}
	if got.Product != "smp-client" || got.Running != "1.0.0" || got.Newest != "1.1.0" || got.Installed != "1.1.0" || installed() != "smp-client 1.1.0" {
		t.Fatalf("--json: %+v, installed %q", got, installed())
	}
	out, _, code = update()
	if code != 0 || !strings.HasPrefix(out, "smp-client is up to date: 1.1.0") {
		t.Fatalf("up to date: exit %d, %q", code, out)
	}

	// The mirror serves other bytes for 1.2.0's artifact.
	p.Publish("1.2.0", 3, []byte("smp-client 1.2.0"))
	path, _ := mirror.ArtifactPath(manifest.DigestBytes([]byte("smp-client 1.2.0")))
	if err := os.WriteFile(filepath.Join(p.Mirror, path), []byte("smp-client 6.6.6"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = update()
	for _, w := range []string{
		"smp-client: error: every offer was refused: the last one: refused the update from mirror " + p.Mirror + ": artifact does not match the release",
		"smp-client: hint: SECURITY ERROR: the update offered failed a check.",
		"The running version was kept; do not install this release by hand. The failure report is " + filepath.Join(state, "reports"),
	} {
		if !strings.Contains(errOut, w) {
			t.Fatalf("tampered artifact: stderr does not say %q:\n%s", w, errOut)
		}
	}
	if code != 1 || out != "" || installed() != "smp-client 1.1.0" {
		t.Fatalf("tampered artifact: exit %d, stdout %q, installed %q", code, out, installed())
	}

	// No mirror: said before anything is read.
	var errb bytes.Buffer
	if code := run([]string{"update", "--install", bin}, strings.NewReader(""), &bytes.Buffer{}, &errb); code != 1 ||
		errb.String() != "smp-client: error: no --mirror\nsmp-client: hint: give at least one mirror to download from (a directory or a URL)\n" {
		t.Fatalf("no mirror: exit %d, %q", code, errb.String())
	}
}
