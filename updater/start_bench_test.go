package updater

import (
	"crypto/rand"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"ssms.dev/ssms/internal/releasetest"
)

// BenchmarkStart is the start-up self-check of a 20 MiB installed binary:
// lock, Recover, hash, read the bundle, verify it in installed mode,
// unlock. The budget is 50 ms more than starting without it. The anchor,
// BenchmarkSHA256File, is the bare sha256 of the same file, which any
// check of the binary costs.
func BenchmarkStart(b *testing.B) {
	c := benchInstall(b)
	b.SetBytes(benchSize)
	for b.Loop() {
		if _, err := Start(c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSelfCheck is the read-only check `--version` makes.
func BenchmarkSelfCheck(b *testing.B) {
	c := benchInstall(b)
	b.SetBytes(benchSize)
	for b.Loop() {
		if _, err := SelfCheck(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSHA256File(b *testing.B) {
	c := benchInstall(b)
	b.SetBytes(benchSize)
	for b.Loop() {
		sha256File(b, c.Path)
	}
}

// BenchmarkStartBesideSHA256 alternates a Start and a bare sha256 of the
// same file in each iteration, so that both see the same load on a shared
// machine, and reports the medians and what the check adds to the hash.
func BenchmarkStartBesideSHA256(b *testing.B) {
	c := benchInstall(b)
	var start, hash []time.Duration
	for b.Loop() {
		t := time.Now()
		if _, err := Start(c); err != nil {
			b.Fatal(err)
		}
		start = append(start, time.Since(t))
		t = time.Now()
		sha256File(b, c.Path)
		hash = append(hash, time.Since(t))
	}
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	s, h := median(start), median(hash)
	b.ReportMetric(ms(s), "start-ms")
	b.ReportMetric(ms(h), "sha256-ms")
	b.ReportMetric(ms(s-h), "added-ms")
	b.ReportMetric(float64(s)/float64(h), "ratio")
}

func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}

func sha256File(b *testing.B, path string) {
	f, err := os.Open(path)
	must(b, err)
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	must(b, err)
	h.Sum(nil)
}

// benchInstall installs a random 20 MiB binary (warm in the page cache,
// as a binary that was just exec'd is).
func benchInstall(b *testing.B) Check {
	b.Helper()
	bin := make([]byte, benchSize)
	rand.Read(bin)
	w, err := releasetest.New("smp-server")
	must(b, err)
	path := filepath.Join(b.TempDir(), "smp-server")
	bundle, err := w.Release("smp-server", "1.0.0", 1, map[string][]byte{"smp-server": bin})
	must(b, err)
	must(b, w.InstallFile(path, DefaultStateDir(path), "smp-server", bundle, "smp-server", bin))
	pinned, err := w.Pinned()
	must(b, err)
	return Check{Product: "smp-server", Pinned: pinned, Path: path}
}
