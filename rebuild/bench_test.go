package rebuild

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ssms.dev/ssms/manifest"
)

// BenchmarkRebuild compares a whole rebuild (clone at the commit, module
// download, go mod verify and build in the sandbox, hash and compare) with a plain go build of the
// same package with the same flags, both with a warm module cache and an
// empty build cache: a rebuild must not trust a build cache, so an empty
// one is the like-for-like baseline. The budget is rebuild ≤ 1.10 × go-build.
//
// The same rebuild with NoSandbox is timed too: sandbox-overhead-% is the
// sandbox's own cost.
//
// SSMS_BENCH_REBUILD=demo builds a one-file module instead of smp-server
// (what ./scripts/test does, to keep the suite quick).
func BenchmarkRebuild(b *testing.B) {
	var source, commit, artifact string
	var r *manifest.Recipe
	if os.Getenv("SSMS_BENCH_REBUILD") == "demo" {
		source, commit = demoModule(b, "hello")
		r, artifact = demoRecipe("-buildid="), "demo"
	} else {
		source = b.TempDir()
		repoCopy(b, source)
		gitT(b, source, "init", "--quiet")
		gitT(b, source, "add", ".")
		gitT(b, source, "commit", "--quiet", "-m", "snapshot")
		commit = strings.TrimSpace(gitT(b, source, "rev-parse", "HEAD"))
		r, artifact = projectRecipe(b, "smp-server"), "smp-server"
	}
	// The reference digest, and a warm module cache for both.
	ref := rebuildOnce(b, source, commit, r, artifact, nil, false)
	subjects := []manifest.Subject{{Name: artifact, Digest: ref}}

	// Each iteration times one of each, alternately, so that a noisy
	// machine slows both alike; the ratio is the figure to read.
	var plain, rebuilt, unsandboxed time.Duration
	for b.Loop() {
		t0 := time.Now()
		cmd := exec.Command(r.Command[0], r.Command[1:]...)
		cmd.Dir = source
		cmd.Env = append(os.Environ(), "GOCACHE="+b.TempDir(), "GOFLAGS=")
		for k, v := range r.Environment {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
		t1 := time.Now()
		os.Remove(filepath.Join(source, artifact)) // keep the tree clean for Fetch
		t2 := time.Now()
		rebuildOnce(b, source, commit, r, artifact, subjects, false)
		t3 := time.Now()
		rebuildOnce(b, source, commit, r, artifact, subjects, true)
		plain, rebuilt, unsandboxed = plain+t1.Sub(t0), rebuilt+t3.Sub(t2), unsandboxed+time.Since(t3)
	}
	n := float64(b.N)
	b.ReportMetric(plain.Seconds()/n, "go-build-s/op")
	b.ReportMetric(rebuilt.Seconds()/n, "rebuild-s/op")
	b.ReportMetric(100*(rebuilt.Seconds()/plain.Seconds()-1), "overhead-%")
	b.ReportMetric(unsandboxed.Seconds()/n, "rebuild-nosandbox-s/op")
	b.ReportMetric(100*(rebuilt.Seconds()/unsandboxed.Seconds()-1), "sandbox-overhead-%")
}

// rebuildOnce does what ssms rebuild does between checking the release and
// signing: fetch, build, compare. With subjects nil it returns the digest.
func rebuildOnce(b *testing.B, source, commit string, r *manifest.Recipe, artifact string, subjects []manifest.Subject, noSandbox bool) manifest.Digest {
	b.Helper()
	work := b.TempDir()
	ctx := context.Background()
	src, err := Fetch(ctx, source, commit, work)
	if err != nil {
		b.Fatal(err)
	}
	var log bytes.Buffer
	run := *testRunner(b)
	run.NoSandbox, run.Output = noSandbox, &log
	if err := run.Build(ctx, r, src, work); err != nil {
		b.Fatalf("%v\n%s", err, log.String())
	}
	if subjects == nil {
		d, err := manifest.DigestFile(filepath.Join(src, artifact), nil)
		if err != nil {
			b.Fatal(err)
		}
		return d
	}
	if arts, ok := Compare(subjects, src, nil, work); !ok {
		b.Fatalf("rebuild differs:\n%s", Report(arts))
	}
	return manifest.Digest{}
}
