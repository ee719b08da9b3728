package monitor

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

// BenchmarkMonitor measures one pass over SSMS_BENCH_MONITOR_ENTRIES new
// entries (default 100,000: the budget, ≤ 10 s), each a release with two
// maintainer signatures, fetched through the log's tiles over HTTP.
func BenchmarkMonitor(b *testing.B) {
	n := 100_000
	if v := os.Getenv("SSMS_BENCH_MONITOR_ENTRIES"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	f := newFixture(b)
	var batch [][]byte
	for i := range n {
		e, _ := f.release(fmt.Sprintf("1.0.%d", i), uint64(i+1), "a", "alice", "bob").Marshal()
		batch = append(batch, e)
		if len(batch) == 4096 || i == n-1 {
			if _, err := f.store.Append(batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	for b.Loop() {
		m := &Monitor{Log: f.client, Pinned: f.pol, Dir: b.TempDir()}
		start := time.Now()
		pass, err := m.Run(context.Background())
		if err != nil || len(pass.Findings) != 0 || pass.Releases != n {
			b.Fatalf("pass: %v, %d findings, %d releases", err, len(pass.Findings), pass.Releases)
		}
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "entries/s")
	}
}
