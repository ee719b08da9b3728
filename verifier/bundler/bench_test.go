package bundler

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"ssms.dev/ssms/manifest"
)

// BenchmarkBundle makes a bundle from a log of SSMS_BENCH_LOG_ENTRIES
// entries (default 100,000: the budget, at most 2 s), all of them
// releases of the product signed by two maintainers, over HTTP. "cold"
// builds the index from nothing; "warm" (the budget's case) finds one
// new release with an index made before, as every later call does.
func BenchmarkBundle(b *testing.B) {
	n := 100_000
	if v := os.Getenv("SSMS_BENCH_LOG_ENTRIES"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	f := newLog(b)
	f.Add(f.PolEnv)
	var batch [][]byte
	for i := range n {
		e, _ := f.Release(manifest.TypeRelease, fmt.Sprintf("0.%d.0", i), uint64(i+1), "a", "alice", "bob").Marshal()
		batch = append(batch, e)
		if len(batch) == 4096 || i == n-1 {
			if _, err := f.Store.Append(batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	seq := uint64(n)
	release := func() Request {
		seq++
		rel := f.Release(manifest.TypeRelease, fmt.Sprintf("1.%d.0", seq), seq, "new", "alice", "bob")
		first := f.Add(rel)
		f.Add(f.Attest(rel, "r1"))
		f.Add(f.Attest(rel, "r2"))
		return Request{Product: "app", Version: fmt.Sprintf("1.%d.0", seq), First: first}
	}
	ctx := context.Background()
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			req := release()
			bd := f.bundler(b)
			b.StartTimer()
			if _, err := bd.Make(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("warm", func(b *testing.B) {
		bd := f.bundler(b)
		if _, err := bd.Make(ctx, release()); err != nil {
			b.Fatal(err)
		}
		var worst time.Duration
		for b.Loop() {
			b.StopTimer()
			req := release()
			b.StartTimer()
			start := time.Now()
			if _, err := bd.Make(ctx, req); err != nil {
				b.Fatal(err)
			}
			worst = max(worst, time.Since(start))
		}
		b.ReportMetric(worst.Seconds(), "worst-s")
	})
}
