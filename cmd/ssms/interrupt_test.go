package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestInterruptBuild sends a real SIGINT to a built ssms in the middle of
// "ssms build": it must stop, say "interrupted", exit 1, and leave no
// temporary directory behind.
func TestInterruptBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ssms and a module")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "ssms")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building ssms: %v\n%s", err, out)
	}
	src := filepath.Join(dir, "src")
	os.Mkdir(src, 0o755)
	writeFiles(t, src, map[string]string{
		"go.mod":  "module example.org/demo\n\ngo 1.26\n",
		"main.go": "package main\n\nimport \"net/http\"\n\nfunc main() { http.ListenAndServe(\":0\", nil) }\n",
	})
	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-C", src}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.org", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.org")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "--quiet")
	git("add", ".")
	git("commit", "--quiet", "-m", "v1")
	recipe := filepath.Join(dir, "recipe.json")
	writeFiles(t, dir, map[string]string{"recipe.json": `{"toolchain": "go1.26.8", "command": ["go", "build", "-trimpath", "-buildvcs=false", "-o", "demo", "."], "environment": {"CGO_ENABLED": "0"}}`})

	tmp := filepath.Join(dir, "tmp") // the build's temporary directories, to count
	os.Mkdir(tmp, 0o755)
	cmd := exec.Command(bin, "build", "--recipe", recipe, "--artifact", "demo", "--source", src, "--out", filepath.Join(dir, "dist"))
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait for the build's sandbox temporary directory: the clone is done
	// and the toolchain is at work (a cold build cache: net/http takes seconds).
	deadline := time.Now().Add(time.Minute)
	for {
		if m, _ := filepath.Glob(filepath.Join(tmp, "ssms-build-*", "tmp")); len(m) > 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the build did not start in a minute; stderr:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("ssms build did not stop 30s after SIGINT; stderr:\n%s", stderr.String())
	}
	t.Logf("stopped %v after SIGINT", time.Since(sent).Round(time.Millisecond))
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Fatalf("exit %d (%v), want 1; stderr:\n%s", code, err, stderr.String())
	}
	if !strings.HasSuffix(stderr.String(), "ssms: error: interrupted\n") {
		t.Fatalf("stderr does not end with the interruption:\n%s", stderr.String())
	}
	// (The go command, run with HOME=$TMPDIR to learn its version, may
	// leave its .config; that is not the build's.)
	if left, _ := filepath.Glob(filepath.Join(tmp, "ssms-*")); len(left) > 0 {
		t.Fatalf("temporary files left behind: %v", left)
	}
	if _, err := os.Stat(filepath.Join(dir, "dist", "demo")); err == nil {
		t.Fatal("an interrupted build wrote its artifact")
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
