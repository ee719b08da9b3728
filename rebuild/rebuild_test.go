package rebuild

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ssms.dev/ssms/manifest"
)

// repoCopy copies this repository's working tree (tracked and untracked
// files, not ignored ones) to dst, so the test builds what is checked out
// without touching it.
func repoCopy(t testing.TB, dst string) {
	t.Helper()
	out, err := exec.Command("git", "-C", "..", "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Skipf("not in a git checkout: %v", err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join("..", name)
		fi, err := os.Lstat(src)
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the work tree, or not a file
		}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		to := filepath.Join(dst, name)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
}

func projectRecipe(t testing.TB, name string) *manifest.Recipe {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "recipes", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := manifest.ParseRecipe(b)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestOurBinariesReproducible builds smp-server and smp-client with the
// project's recipes in two different directories, with different HOMEs
// and build caches, a second apart and with different file times, and
// demands the same bytes.
func TestOurBinariesReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("two cold builds")
	}
	products := []string{"smp-server", "smp-client"}
	digests := map[string][]string{}
	for i, dir := range []string{t.TempDir(), filepath.Join(t.TempDir(), "a", "deeper", "path")} {
		src, work := filepath.Join(dir, "src"), filepath.Join(dir, "work")
		repoCopy(t, src)
		if i == 1 {
			time.Sleep(1100 * time.Millisecond)
			later := time.Now().Add(time.Hour)
			filepath.Walk(src, func(p string, _ os.FileInfo, _ error) error { return os.Chtimes(p, later, later) })
		}
		for _, product := range products {
			var log bytes.Buffer
			if err := testBuild(t, projectRecipe(t, product), src, work, &log); err != nil {
				t.Fatalf("build %d of %s: %v\n%s", i, product, err, log.String())
			}
			d, err := manifest.DigestFile(filepath.Join(src, product), nil)
			if err != nil {
				t.Fatal(err)
			}
			digests[product] = append(digests[product], d.SHA256)
		}
	}
	for _, product := range products {
		if d := digests[product]; d[0] != d[1] {
			t.Errorf("%s is not reproducible: %s vs %s", product, d[0], d[1])
		}
	}
}

// demoModule makes a one-file Go module in a fresh git repository and
// returns its directory and the commit.
func demoModule(t testing.TB, greeting string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	write(t, filepath.Join(dir, "go.mod"), "module example.org/demo\n\ngo 1.26\n")
	write(t, filepath.Join(dir, "main.go"), "package main\n\nfunc main() { println(\""+greeting+"\") }\n")
	gitT(t, dir, "init", "--quiet")
	gitT(t, dir, "add", ".")
	gitT(t, dir, "commit", "--quiet", "-m", "demo")
	return dir, strings.TrimSpace(gitT(t, dir, "rev-parse", "HEAD"))
}

func write(t testing.TB, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func gitT(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func demoRecipe(ldflags string) *manifest.Recipe {
	return &manifest.Recipe{
		Toolchain: strings.TrimSpace(goVersion()),
		Command:   []string{"go", "build", "-trimpath", "-buildvcs=false", "-ldflags=" + ldflags, "-o", "demo", "."},
		Environment: map[string]string{
			"CGO_ENABLED": "0",
		},
	}
}

func goVersion() string {
	out, _ := exec.Command("go", "env", "GOVERSION").Output()
	return string(out)
}

// demoCache is a build cache the demo builds share, to keep the test
// quick; TestSMPServerReproducible is the one with cold, separate caches.
var demoCache string

// rebuildDemo fetches and builds the demo module at commit with r.
func rebuildDemo(t testing.TB, source, commit string, r *manifest.Recipe) string {
	t.Helper()
	if demoCache == "" {
		demoCache, _ = os.MkdirTemp("", "ssms-demo-cache-")
	}
	work := demoCache
	src, err := Fetch(context.Background(), source, commit, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	if err := testBuild(t, r, src, work, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	return src
}

var (
	runnerOnce sync.Once
	runner     *Runner
	runnerErr  error
)

// testRunner is the runner of the tests: go on PATH, the host's module
// cache, the sandbox (which the tests require; scripts/test installs it).
func testRunner(t testing.TB) *Runner {
	t.Helper()
	runnerOnce.Do(func() { runner, runnerErr = NewRunner(context.Background(), "", "", false) })
	if runnerErr != nil {
		t.Fatal(runnerErr)
	}
	return runner
}

// testBuild builds src with r as a rebuilder does, output to log.
func testBuild(t testing.TB, r *manifest.Recipe, src, work string, log io.Writer) error {
	t.Helper()
	run := *testRunner(t)
	run.Output = log
	return run.Build(context.Background(), r, src, work)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if demoCache != "" {
		os.RemoveAll(demoCache)
	}
	os.Exit(code)
}

func TestMismatchReport(t *testing.T) {
	source, commit := demoModule(t, "hello")
	r := demoRecipe("-buildid=")
	first := rebuildDemo(t, source, commit, r)
	published := filepath.Join(t.TempDir(), "demo")
	copyFile(t, filepath.Join(first, "demo"), published)
	d, err := manifest.DigestFile(published, nil)
	if err != nil {
		t.Fatal(err)
	}
	subjects := []manifest.Subject{{Name: "demo", Digest: d}}

	// The same commit and recipe, elsewhere: bit for bit.
	again := rebuildDemo(t, source, commit, r)
	if arts, ok := Compare(subjects, again, nil, t.TempDir()); !ok {
		t.Fatalf("the same source and recipe did not match:\n%s", Report(arts))
	}

	// A changed source (a later commit) and a changed recipe both differ.
	write(t, filepath.Join(source, "main.go"), "package main\n\nfunc main() { println(\"hellO\") }\n")
	gitT(t, source, "commit", "--quiet", "-am", "changed")
	changed := strings.TrimSpace(gitT(t, source, "rev-parse", "HEAD"))
	for name, src := range map[string]string{
		"changed source": rebuildDemo(t, source, changed, r),
		"changed recipe": rebuildDemo(t, source, commit, demoRecipe("-buildid= -X main.unused=1 -s")),
	} {
		arts, ok := Compare(subjects, src, map[string]string{"demo": published}, t.TempDir())
		if ok {
			t.Errorf("%s: reported a match", name)
			continue
		}
		a := arts[0]
		report := Report(arts)
		if a.Got == "" || a.Got == a.Want || a.FirstDiff < 0 || a.PubSize == 0 ||
			!strings.Contains(report, "MISMATCH") || !strings.Contains(report, a.Want) || !strings.Contains(report, "first difference at byte") {
			t.Errorf("%s: report lacks the evidence: %+v\n%s", name, a, report)
		}
	}

	// A recipe that makes no such file.
	arts, ok := Compare([]manifest.Subject{{Name: "missing", Digest: d}}, first, nil, t.TempDir())
	if ok || !strings.Contains(Report(arts), "produced no file named missing") {
		t.Errorf("missing artifact: %s", Report(arts))
	}
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestFetchRefuses(t *testing.T) {
	source, commit := demoModule(t, "hello")
	ctx := context.Background()
	if _, err := Fetch(ctx, source, strings.Repeat("ab", 20), t.TempDir()); err == nil || !strings.Contains(err.Error(), "is not in") {
		t.Errorf("unknown commit: %v", err)
	}
	write(t, filepath.Join(source, "main.go"), "package main\n\nfunc main() { println(\"dirty\") }\n")
	if _, err := Fetch(ctx, source, commit, t.TempDir()); !errors.Is(err, ErrDirty) {
		t.Errorf("dirty tree: %v", err)
	}
	write(t, filepath.Join(source, "main.go"), "package main\n\nfunc main() { println(\"hello\") }\n")
	write(t, filepath.Join(source, "extra.go"), "package main\n")
	if _, err := Fetch(ctx, source, commit, t.TempDir()); !errors.Is(err, ErrDirty) {
		t.Errorf("untracked file: %v", err)
	}
	if _, err := Fetch(ctx, t.TempDir(), commit, t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a git repository") {
		t.Errorf("not a repository: %v", err)
	}
}

// TestEnvScrubbed checks that the user's Go settings do not reach a
// build, and that the recipe's variables cannot override the rebuilder's.
func TestEnvScrubbed(t *testing.T) {
	t.Setenv("GOFLAGS", "-tags=evil")
	t.Setenv("CGO_ENABLED", "1")
	t.Setenv("GOPRIVATE", "example.org")
	r := demoRecipe("")
	r.Environment["GOFLAGS"] = "-toolexec=evil" // refused by CheckRecipe; must not get in even so
	r.Environment["PATH"] = "/evil"
	env := testRunner(t).buildEnv(r, t.TempDir())
	joined := "\n" + strings.Join(env, "\n") + "\n"
	for _, want := range []string{"\nGOFLAGS=-mod=readonly\n", "\nGOENV=off\n", "\nCGO_ENABLED=0\n", "\nGOTOOLCHAIN=local\n", "\nGOPROXY=off\n", "\nGOWORK=off\n"} {
		if !strings.Contains(joined, want) {
			t.Errorf("env lacks %q", strings.TrimSpace(want))
		}
	}
	for _, bad := range []string{"evil", "GOPRIVATE", "CGO_ENABLED=1"} {
		if strings.Contains(joined, bad) {
			t.Errorf("env leaks %q", bad)
		}
	}
	seen := map[string]bool{}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if seen[k] {
			t.Errorf("%s is set twice", k)
		}
		seen[k] = true
	}
}

// TestDiffoscopeReport runs Compare with a diffoscope on PATH (a stand-in
// that records its arguments) and checks that the report is asked for and
// named.
func TestDiffoscopeReport(t *testing.T) {
	bin := t.TempDir()
	write(t, filepath.Join(bin, "diffoscope"), "#!/bin/sh\n# diffoscope --text REPORT A B\n[ \"$1\" = --text ] || exit 2\necho \"differences between $3 and $4\" > \"$2\"\nexit 1\n")
	os.Chmod(filepath.Join(bin, "diffoscope"), 0o755)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a"), "rebuilt bytes")
	published := filepath.Join(t.TempDir(), "a")
	write(t, published, "rebuilt bytez")
	want, _ := manifest.DigestFile(published, nil)
	arts, ok := Compare([]manifest.Subject{{Name: "a", Digest: want}}, dir, map[string]string{"a": published}, dir)
	if ok || arts[0].FirstDiff != 12 || arts[0].Diffo == "" {
		t.Fatalf("got %+v", arts[0])
	}
	b, err := os.ReadFile(arts[0].Diffo)
	if err != nil || !strings.Contains(string(b), "differences between "+published) {
		t.Fatalf("report %s: %q %v", arts[0].Diffo, b, err)
	}
	if !strings.Contains(Report(arts), "diffoscope report: "+arts[0].Diffo) {
		t.Fatalf("report does not name it:\n%s", Report(arts))
	}
}
