package rebuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ssms.dev/ssms/manifest"
)

// The outside review of the rebuilders (issue 13, second round): each
// test here is one of its attacks, and fails without the fix it names.

// TestAttackOutputIntoGit: a recipe may not write its binary into the
// checkout's .git (a hook that git on the host runs) nor as a dotfile.
func TestAttackOutputIntoGit(t *testing.T) {
	for _, o := range []string{".git/hooks/post-index-change", ".git/config", ".envrc", "a/.hidden", ".git"} {
		r := demoRecipe("")
		r.Command = []string{"go", "build", "-trimpath", "-o", o, "."}
		if err := CheckRecipe(r); err == nil || !strings.Contains(err.Error(), `may start with "."`) {
			t.Errorf("-o %s: got %v, want it refused", o, err)
		}
	}
}

// TestAttackGitReadOnlyInSandbox: whatever runs in the build's sandbox
// cannot write the checkout's .git (hooks, config), only the tree.
func TestAttackGitReadOnlyInSandbox(t *testing.T) {
	source, commit := demoModule(t, "hello")
	work := t.TempDir()
	src, err := Fetch(context.Background(), source, commit, work)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	c := testRunner(t).Sandbox(demoRecipe(""), src, work)
	c.Stdout = &out
	c.Argv = []string{"sh", "-c", `echo evil > .git/hooks/post-index-change && echo HOOK; echo '[core] fsmonitor = evil' >> .git/config && echo CONFIG; echo ok > tree-file && echo TREE`}
	if err := c.Run(context.Background()); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if s := out.String(); strings.Contains(s, "HOOK") || strings.Contains(s, "CONFIG") || !strings.Contains(s, "TREE") {
		t.Errorf("want .git read-only and the tree writable:\n%s", s)
	}
	if _, err := os.Stat(filepath.Join(src, ".git/hooks/post-index-change")); err == nil {
		t.Error("the hook was planted")
	}
}

// TestAttackMismatchKeepsNoTree: after a mismatch, the tree the build
// wrote into is gone; only the rebuilt artifacts, as plain
// non-executable files, and the report are kept.
func TestAttackMismatchKeepsNoTree(t *testing.T) {
	source, commit := demoModule(t, "hello")
	st := &manifest.ReleaseStatement{
		Subject: []manifest.Subject{{Name: "demo", Digest: manifest.Digest{SHA256: strings.Repeat("0", 64)}}},
		Predicate: manifest.ReleasePredicate{Product: "demo", Version: "1.0.0",
			Source: manifest.Source{URI: source, Commit: commit}, Build: demoRecipe("")},
	}
	var log bytes.Buffer
	run := *testRunner(t)
	run.Output = &log
	r := &Rebuilder{Builder: "r1", Output: io.Discard, Runner: &run}
	res, err := r.Rebuild(context.Background(), &manifest.Envelope{}, st, "", nil)
	if !errors.Is(err, ErrMismatch) {
		t.Fatalf("got %v, want a mismatch\n%s", err, log.String())
	}
	defer os.RemoveAll(res.Work)
	if res.Evidence != filepath.Join(res.Work, EvidenceDir) || res.Src != "" {
		t.Errorf("evidence %q, tree %q", res.Evidence, res.Src)
	}
	entries, _ := os.ReadDir(res.Work)
	if len(entries) != 1 || entries[0].Name() != EvidenceDir {
		t.Errorf("the work directory holds %v, want only %s", entries, EvidenceDir)
	}
	fi, err := os.Lstat(filepath.Join(res.Evidence, "demo"))
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 {
		t.Errorf("rebuilt demo: %v %v, want a regular 0644 file", fi, err)
	}
	if b, err := os.ReadFile(filepath.Join(res.Evidence, "report.txt")); err != nil || !strings.Contains(string(b), "demo: MISMATCH") {
		t.Errorf("report.txt: %q %v", b, err)
	}
}

// TestAttackCheckoutBomb: a commit whose tree expands past the limits
// (a git bomb of repeated trees; one blob named thousands of times) is
// refused before anything is checked out.
func TestAttackCheckoutBomb(t *testing.T) {
	mkrepo := func(t *testing.T, tree func(dir string) string) (string, string) {
		dir := t.TempDir()
		gitT(t, dir, "init", "--quiet")
		root := tree(dir)
		commit := strings.TrimSpace(gitT(t, dir, "commit-tree", root, "-m", "bomb"))
		gitT(t, dir, "update-ref", "refs/heads/master", commit)
		gitT(t, dir, "update-ref", "HEAD", commit)
		return dir, commit
	}
	hash := func(t *testing.T, dir, data string, args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Stdin = dir, strings.NewReader(data)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	files := func(dir string) string { // 10^6 files in 6 levels of 10 trees
		blob := hash(t, dir, "x\n", "hash-object", "-w", "--stdin")
		var b strings.Builder
		for i := range 10 {
			fmt.Fprintf(&b, "100644 blob %s\tf%d\n", blob, i)
		}
		tree := hash(t, dir, b.String(), "mktree")
		for range 5 {
			b.Reset()
			for i := range 10 {
				fmt.Fprintf(&b, "040000 tree %s\td%d\n", tree, i)
			}
			tree = hash(t, dir, b.String(), "mktree")
		}
		return tree
	}
	bytes := func(dir string) string { // 3000 names of one 1 MiB blob: 3 GiB
		blob := hash(t, dir, strings.Repeat("ssms-bomb\n", 1<<20/10), "hash-object", "-w", "--stdin")
		var b strings.Builder
		for i := range 3000 {
			fmt.Fprintf(&b, "100644 blob %s\tf%d\n", blob, i)
		}
		return hash(t, dir, b.String(), "mktree")
	}
	for name, tree := range map[string]func(string) string{"files": files, "bytes": bytes} {
		source, commit := mkrepo(t, tree)
		work := t.TempDir()
		start := time.Now()
		_, err := Fetch(context.Background(), "file://"+source, commit, work)
		if !errors.Is(err, ErrTreeTooLarge) {
			t.Errorf("%s: got %v, want ErrTreeTooLarge", name, err)
		}
		if entries, _ := os.ReadDir(filepath.Join(work, "src")); len(entries) != 1 { // .git only
			t.Errorf("%s: the checkout holds %d entries, want only .git", name, len(entries))
		}
		t.Logf("%s: refused in %v: %v", name, time.Since(start), err)
	}
}

// TestAttackGitChildrenKilled: git's ssh, stalled by a source host past
// the time limit, dies with git; and it runs with no ssh configuration
// file nor agent of the host's.
func TestAttackGitChildrenKilled(t *testing.T) {
	bin, dir := t.TempDir(), t.TempDir()
	beat := filepath.Join(dir, "beat")
	write(t, filepath.Join(bin, "ssh"), "#!/bin/sh\necho \"$@\" > "+dir+"/args\nenv > "+dir+"/env\n(while :; do echo . >> "+beat+"; sleep 0.05; done) &\nsleep 60\n")
	os.Chmod(filepath.Join(bin, "ssh"), 0o755)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("SSH_AUTH_SOCK", "/tmp/host-agent.sock")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	if _, err := Fetch(ctx, "ssh://git@source.example/repo.git", strings.Repeat("0", 40), t.TempDir()); err == nil {
		t.Fatal("fetched")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Fetch returned after %v", d)
	}
	time.Sleep(200 * time.Millisecond)
	before, _ := os.ReadFile(beat)
	time.Sleep(500 * time.Millisecond)
	after, _ := os.ReadFile(beat)
	if len(before) == 0 || len(after) != len(before) {
		t.Errorf("ssh's child lives on (%d then %d beats)", len(before), len(after))
	}
	args, _ := os.ReadFile(filepath.Join(dir, "args"))
	env, _ := os.ReadFile(filepath.Join(dir, "env"))
	if !strings.Contains(string(args), "-F /dev/null -o BatchMode=yes") || strings.Contains(string(env), "SSH_AUTH_SOCK") {
		t.Errorf("ssh ran with %q and the environment\n%s", args, env)
	}
}

// TestAttackFollowLocalSource: a release naming a repository on the
// follower's own host (file://, a path) is not built unless the follower
// was told to build local sources.
func TestAttackFollowLocalSource(t *testing.T) {
	f := newFollowFixture(t)
	source, commit := demoModule(t, "hello")
	f.log(f.release("demo", "1.0.0", commit, source, strings.Repeat("0", 64), demoRecipe(""), true))
	var report strings.Builder
	fw := &Follower{Log: f.client, Policy: f.pol, Dir: t.TempDir(), Report: &report,
		Rebuilder: &Rebuilder{Signer: f.rebuilder, Builder: "r1", Output: io.Discard, Runner: testRunner(t)}}
	pass, err := fw.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if pass.Mismatched != 0 || pass.Attested != 0 || len(pass.Failed) != 0 || !strings.Contains(report.String(), "entry 0: skipped: demo 1.0.0 names the source \"file://"+source+"\", not a remote repository") {
		t.Errorf("pass %+v:\n%s", pass, report.String())
	}
}

func TestRemoteSource(t *testing.T) {
	for _, tt := range []struct {
		source string
		want   bool
	}{
		{"https://github.com/o/r.git", true},
		{"ssh://git@github.com/o/r.git", true},
		{"git@github.com:o/r.git", true},
		{"github.com:o/r", true},
		{"file:///srv/repo", false},
		{"file://localhost/srv/repo", false},
		{"/srv/repo", false},
		{"./repo", false},
		{"repo", false},
		{"http://example.org/r", false},
		{"https:///r", false},
		{"ext::sh -c evil", false},
	} {
		if got := RemoteSource(tt.source); got != tt.want {
			t.Errorf("RemoteSource(%q) = %v, want %v", tt.source, got, tt.want)
		}
	}
}

// TestAttackBuildOutputEscapes: what a build prints reaches the
// rebuilder's terminal with no escape sequence (a window title, a
// cursor move that hides a line, OSC 52 writing the clipboard).
func TestAttackBuildOutputEscapes(t *testing.T) {
	source, commit := demoModule(t, "hello")
	work := t.TempDir()
	src, err := Fetch(context.Background(), source, commit, work)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	run := *testRunner(t)
	run.Output = &out
	c := run.Sandbox(demoRecipe(""), src, work)
	c.Argv = []string{"printf", `ok\tline\n\033]0;pwned\007\033[1A\033[2K\033]52;c;ZXZpbA==\007\302\233\r\bend\n`}
	if err := c.Run(context.Background()); err != nil {
		t.Fatalf("%v: %q", err, out.String())
	}
	if got, want := out.String(), "ok\tline\n?]0;pwned??[1A?[2K?]52;c;ZXZpbA==????end\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestPrintable(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"plain\ttext\n", "plain\ttext\n"},
		{"caf\u00e9 \u4e16", "caf\u00e9 \u4e16"},
		{"\x1b[31mred\x1b[0m", "?[31mred?[0m"},
		{"\x00\x7f\x9b\xc2\x9b", "????"},
		{"a\u202eb\u2028c", "a?b?c"},
	} {
		if got := printable(tt.in); got != tt.want {
			t.Errorf("printable(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestAttackLocalReplace: a go.mod that replaces a module by a directory
// (which go mod download would read on the host) is refused before the
// download; a module@version replacement is not.
func TestAttackLocalReplace(t *testing.T) {
	for _, tt := range []struct {
		replace string
		refused bool
	}{
		{"replace example.org/x => ../x", true},
		{"replace example.org/x => /root/.ssh", true},
		{"replace example.org/x v1.0.0 => ./x", true},
		{"replace example.org/x => example.org/y v1.2.3", false},
	} {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "go.mod"), "module example.org/demo\n\ngo 1.26\n\n"+tt.replace+"\n")
		err := checkGoMod(filepath.Join(dir, "go.mod"))
		if got := errors.Is(err, ErrLocalReplace); got != tt.refused {
			t.Errorf("%s: got %v, want refused=%v", tt.replace, err, tt.refused)
		}
	}
	source, _ := demoModule(t, "hello")
	write(t, filepath.Join(source, "go.mod"), "module example.org/demo\n\ngo 1.26\n\nreplace example.org/x => "+t.TempDir()+"\n")
	gitT(t, source, "commit", "--quiet", "-am", "replace")
	work := t.TempDir()
	src, err := Fetch(context.Background(), source, strings.TrimSpace(gitT(t, source, "rev-parse", "HEAD")), work)
	if err != nil {
		t.Fatal(err)
	}
	if err := testBuild(t, demoRecipe(""), src, work, io.Discard); !errors.Is(err, ErrLocalReplace) {
		t.Errorf("build: got %v, want ErrLocalReplace", err)
	}
}

// TestAttackDownloadEnv: the module download fetches only from a proxy
// (never "direct", no version control system), with every checksum
// check on, whatever the host's environment says.
func TestAttackDownloadEnv(t *testing.T) {
	for _, tt := range []struct{ host, want string }{
		{"", DefaultProxy},
		{"direct", DefaultProxy},
		{"https://goproxy.example,direct", "https://goproxy.example"},
		{"https://a.example|direct|https://b.example", "https://a.example,https://b.example"},
		{"off", "off"},
	} {
		if got := proxyOnly(tt.host); got != tt.want {
			t.Errorf("proxyOnly(%q) = %q, want %q", tt.host, got, tt.want)
		}
	}
	t.Setenv("GOPROXY", "direct")
	t.Setenv("GOSUMDB", "off")
	t.Setenv("GONOSUMDB", "*")
	t.Setenv("GOPRIVATE", "*")
	t.Setenv("GOINSECURE", "*")
	t.Setenv("GOVCS", "*:all")
	env := strings.Join(testRunner(t).downloadEnv(t.TempDir()), "\n") + "\n"
	for _, want := range []string{"GOPROXY=" + DefaultProxy + "\n", "GOVCS=*:off\n", "GONOSUMDB=\n", "GOPRIVATE=\n", "GOINSECURE=\n"} {
		if !strings.Contains(env, want) {
			t.Errorf("want %q in the environment:\n%s", want, env)
		}
	}
	if strings.Contains(env, "GOSUMDB=off") || strings.Contains(env, "direct") || strings.Contains(env, "*:all") {
		t.Errorf("the host's weakening variables reach the download:\n%s", env)
	}
}

// TestAttackDiffoscopeSandboxed: diffoscope, which unpacks the release's
// files with dozens of tools, runs in the sandbox: it can write its
// report, and neither file it compares nor anything else of the host.
func TestAttackDiffoscopeSandboxed(t *testing.T) {
	bin, host := t.TempDir(), t.TempDir()
	write(t, filepath.Join(bin, "diffoscope"), "#!/bin/sh\necho report > \"$2\"\necho evil > \"$3\"; echo evil > \"$4\"; echo evil > "+host+"/escaped\nexit 1\n")
	os.Chmod(filepath.Join(bin, "diffoscope"), 0o755)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	dir, reports := t.TempDir(), t.TempDir()
	write(t, filepath.Join(dir, "a"), "rebuilt bytes")
	published := filepath.Join(t.TempDir(), "a")
	write(t, published, "rebuilt bytez")
	want, _ := manifest.DigestFile(published, nil)
	arts, _ := Compare([]manifest.Subject{{Name: "a", Digest: want}}, dir, map[string]string{"a": published}, reports)
	if arts[0].Diffo == "" {
		t.Fatalf("no report: %+v", arts[0])
	}
	for path, want := range map[string]string{filepath.Join(dir, "a"): "rebuilt bytes", published: "rebuilt bytez"} {
		if b, _ := os.ReadFile(path); string(b) != want {
			t.Errorf("%s was changed to %q", path, b)
		}
	}
	if _, err := os.Stat(filepath.Join(host, "escaped")); err == nil {
		t.Error("diffoscope wrote outside its report's directory")
	}
}

// TestGitStderrBounded: a source host's endless messages are kept up to
// maxGitStderr bytes, not in full.
func TestGitStderrBounded(t *testing.T) {
	var b bytes.Buffer
	w := &limitedWriter{w: &b, n: 5}
	for _, s := range []string{"abc", "defg", "hij"} {
		if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if b.String() != "abcde" {
		t.Errorf("kept %q, want %q", b.String(), "abcde")
	}
}
