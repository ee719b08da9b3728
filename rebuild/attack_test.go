package rebuild

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"ssms.dev/ssms/manifest"
)

// qrModule makes a module that imports rsc.io/qr (a small module of this
// repository's go.sum), in a git repository; and a copy of the host's
// module cache holding only rsc.io/qr, writable, for tests that poison it.
func qrModule(t *testing.T) (source, commit, modcache string) {
	t.Helper()
	source = t.TempDir()
	write(t, filepath.Join(source, "go.mod"), "module example.org/qrdemo\n\ngo 1.26\n\nrequire rsc.io/qr v0.2.0\n")
	write(t, filepath.Join(source, "go.sum"), "rsc.io/qr v0.2.0 h1:6vBLea5/NRMVTz8V66gipeLycZMl/+UlFmk8DvqQ6WY=\nrsc.io/qr v0.2.0/go.mod h1:IF+uZjkb9fqyeF/4tlBoynqmQxUoPfWEKh921coOuXs=\n")
	write(t, filepath.Join(source, "main.go"), "package main\n\nimport \"rsc.io/qr\"\n\nfunc main() { c, _ := qr.Encode(\"hi\", qr.L); println(c.Size) }\n")
	gitT(t, source, "init", "--quiet")
	gitT(t, source, "add", ".")
	gitT(t, source, "commit", "--quiet", "-m", "qr")
	commit = strings.TrimSpace(gitT(t, source, "rev-parse", "HEAD"))

	host := testRunner(t).ModCache
	modcache = t.TempDir()
	for _, dir := range []string{"cache/download/rsc.io/qr/@v", "rsc.io/qr@v0.2.0"} {
		if err := os.CopyFS(filepath.Join(modcache, dir), os.DirFS(filepath.Join(host, dir))); err != nil {
			t.Fatalf("copying rsc.io/qr from the module cache (run go mod download first): %v", err)
		}
	}
	// Module directories are read-only (0555, 0444); the copy must not be.
	filepath.WalkDir(modcache, func(p string, d fs.DirEntry, err error) error { return os.Chmod(p, 0o755) })
	t.Setenv("GOPROXY", "off") // everything is in the copy
	return source, commit, modcache
}

// runnerWith is the test runner with another module cache.
func runnerWith(t *testing.T, modcache string, log io.Writer) *Runner {
	r := *testRunner(t)
	r.ModCache, r.Output = modcache, log
	return &r
}

func qrRecipe() *manifest.Recipe {
	return &manifest.Recipe{Toolchain: strings.TrimSpace(goVersion()), Command: []string{"go", "build", "-trimpath", "-o", "qrdemo", "."}, Environment: map[string]string{"CGO_ENABLED": "0"}}
}

// TestModCacheReadOnly: a build cannot write to the module cache (issue
// 13, item 2: a build that adds a file poisons every later build).
func TestModCacheReadOnly(t *testing.T) {
	source, commit, modcache := qrModule(t)
	work := t.TempDir()
	src, err := Fetch(context.Background(), source, commit, work)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	c := runnerWith(t, modcache, &out).Sandbox(qrRecipe(), src, work)
	c.Argv = []string{"sh", "-c", `echo 'package qr' > "$GOMODCACHE/rsc.io/qr@v0.2.0/evil.go" && echo WROTE; touch "$GOMODCACHE/cache/download/rsc.io/qr/@v/list" && echo TOUCHED; echo done`}
	if err := c.Run(context.Background()); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if s := out.String(); strings.Contains(s, "WROTE") || strings.Contains(s, "TOUCHED") || !strings.Contains(s, "Read-only file system") {
		t.Errorf("want every write to fail on a read-only file system:\n%s", s)
	}
	if _, err := os.Stat(filepath.Join(modcache, "rsc.io/qr@v0.2.0/evil.go")); err == nil {
		t.Error("the file was written into the module cache")
	}
}

// TestPoisonedModCacheRefused: a file added to a cached module (by an
// earlier build on a host without the sandbox, or anyone) is found by go
// mod verify, and nothing is built.
func TestPoisonedModCacheRefused(t *testing.T) {
	source, commit, modcache := qrModule(t)
	var log bytes.Buffer
	run := runnerWith(t, modcache, &log)
	build := func() error {
		work := t.TempDir()
		src, err := Fetch(context.Background(), source, commit, work)
		if err != nil {
			t.Fatal(err)
		}
		return run.Build(context.Background(), qrRecipe(), src, work)
	}
	if err := build(); err != nil { // the clean copy builds: the test can fail
		t.Fatalf("clean cache: %v\n%s", err, log.String())
	}
	write(t, filepath.Join(modcache, "rsc.io/qr@v0.2.0/init.go"), "package qr\n\nfunc init() { println(\"backdoor\") }\n")
	err := build()
	if !errors.Is(err, ErrModulesModified) || !strings.Contains(err.Error(), "rsc.io/qr v0.2.0: dir has been modified") {
		t.Fatalf("poisoned cache: got %v, want go mod verify's finding", err)
	}
}

// TestRefusedBeforeFetch: a recipe the policy refuses, or one for another
// toolchain, is refused before git runs at all (git here is a stand-in
// that records that it ran).
func TestRefusedBeforeFetch(t *testing.T) {
	f := newFollowFixture(t)
	source, commit := demoModule(t, "hello")
	bin := t.TempDir()
	ran := filepath.Join(bin, "git-ran")
	write(t, filepath.Join(bin, "git"), "#!/bin/sh\ntouch "+ran+"\nexit 1\n")
	os.Chmod(filepath.Join(bin, "git"), 0o755)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	shell := &manifest.Recipe{Toolchain: strings.TrimSpace(goVersion()), Command: []string{"sh", "-c", "ls /root"}, Environment: map[string]string{}}
	home := demoRecipe("")
	home.Environment["HOME"] = "/root"
	toolexec := demoRecipe("")
	toolexec.Command = []string{"go", "build", "-toolexec", "/bin/sh", "."}
	old := demoRecipe("")
	old.Toolchain = "go1.20"
	rb := &Rebuilder{Signer: f.rebuilder, Builder: "r1", Output: io.Discard, Runner: testRunner(t)}
	for _, tt := range []struct {
		r    *manifest.Recipe
		want string
	}{
		{shell, `the recipe is refused: command: must start with "go", "build"`},
		{home, "the recipe is refused: environment: HOME is not allowed"},
		{toolexec, "the recipe is refused: command[2]: -toolexec is not allowed"},
		{old, "the recipe's toolchain is not this Go installation's: the recipe needs go1.20"},
	} {
		env := f.release("demo", "1.0.0", commit, source, strings.Repeat("0", 64), tt.r, true)
		st, err := manifest.ParseRelease(env.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rb.Rebuild(context.Background(), env, st, "", nil); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("got %v, want %q", err, tt.want)
		}
	}
	if _, err := os.Stat(ran); err == nil {
		t.Error("git ran")
	}
}

// TestGitProtocols: only https, ssh and file sources are fetched; ext::
// (which runs a command) and the others are refused by git.
func TestGitProtocols(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ext-ran")
	for _, source := range []string{"ext::sh -c touch% " + marker, "git://127.0.0.1:1/x", "http://127.0.0.1:1/x", "fd::3"} {
		_, err := Fetch(context.Background(), source, strings.Repeat("ab", 20), t.TempDir())
		if err == nil || !strings.Contains(err.Error(), "transport") {
			t.Errorf("%s: got %v, want git's refusal of the transport", source, err)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the ext:: command ran")
	}
}

// TestCommittedArtifactRefused: an artifact that is in the checkout
// before the build would be "reproduced" by any recipe.
func TestCommittedArtifactRefused(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "demo"), "a committed binary")
	os.Symlink("/dev/zero", filepath.Join(dir, "link"))
	if err := CheckFresh(dir, []string{"other", "demo"}); !errors.Is(err, ErrInCheckout) || !strings.Contains(err.Error(), "artifact demo is in the source") {
		t.Errorf("file: got %v", err)
	}
	if err := CheckFresh(dir, []string{"link"}); !errors.Is(err, ErrInCheckout) {
		t.Errorf("symlink: got %v", err)
	}
	if err := CheckFresh(dir, []string{"other"}); err != nil {
		t.Errorf("absent: got %v", err)
	}
}

// TestCompareOnlyRegularFiles: a symlink to /dev/zero (which a hashing
// rebuilder would read for ever), to a file, a directory or a FIFO is
// "not a regular file", at once.
func TestCompareOnlyRegularFiles(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "real"), "bytes")
	d, _ := manifest.DigestFile(filepath.Join(dir, "real"), nil)
	os.Symlink("/dev/zero", filepath.Join(dir, "zero"))
	os.Symlink("real", filepath.Join(dir, "tofile"))
	os.Mkdir(filepath.Join(dir, "dir"), 0o755)
	if err := exec.Command("mkfifo", filepath.Join(dir, "fifo")).Run(); err != nil {
		t.Fatal(err)
	}
	var subjects []manifest.Subject
	for _, name := range []string{"dir", "fifo", "tofile", "zero"} {
		subjects = append(subjects, manifest.Subject{Name: name, Digest: d})
	}
	arts, ok := Compare(subjects, dir, map[string]string{"zero": filepath.Join(dir, "real")}, t.TempDir())
	if ok {
		t.Fatal("reproduced")
	}
	for _, a := range arts {
		if a.Got != "" || !strings.Contains(a.Problem, "not a regular file") {
			t.Errorf("%s: %+v", a.Name, a)
		}
	}
	if r := Report(arts); !strings.Contains(r, "zero: zero is not a regular file") {
		t.Errorf("report:\n%s", r)
	}
	if arts, ok := Compare([]manifest.Subject{{Name: "real", Digest: d}}, dir, nil, t.TempDir()); !ok {
		t.Errorf("a regular file: %+v", arts)
	}
}

// TestNoSandboxBuilds: with NoSandbox, a build still runs (with the same
// environment) and reproduces the sandboxed one.
func TestNoSandboxBuilds(t *testing.T) {
	source, commit := demoModule(t, "hello")
	var digests []string
	for _, noSandbox := range []bool{false, true} {
		var log bytes.Buffer
		run := *testRunner(t)
		run.NoSandbox, run.Output = noSandbox, &log
		work := t.TempDir()
		src, err := Fetch(context.Background(), source, commit, work)
		if err != nil {
			t.Fatal(err)
		}
		if err := run.Build(context.Background(), demoRecipe(""), src, work); err != nil {
			t.Fatalf("noSandbox=%v: %v\n%s", noSandbox, err, log.String())
		}
		d, err := manifest.DigestFile(filepath.Join(src, "demo"), nil)
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, d.SHA256)
	}
	if digests[0] != digests[1] {
		t.Errorf("sandboxed %s, unsandboxed %s", digests[0], digests[1])
	}
}
