package translog

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// benchEntry is a typical small entry: about the size of a signed release.
func benchEntry(i int64) []byte {
	e := make([]byte, 1024)
	copy(e, fmt.Sprintf("entry %d ", i))
	return e
}

// BenchmarkAppend measures sustained appends through the sequencer with
// 256 concurrent writers (budget: ≥ 10,000 appends/s on 2 cores). Each op
// is one entry made durable and covered by a signed checkpoint.
func BenchmarkAppend(b *testing.B) {
	s, _ := newStore(b)
	seq := NewSequencer(s, DefaultMaxPending, DefaultMaxBatch)
	defer seq.Close()
	var next atomic.Int64
	b.SetParallelism(128) // × GOMAXPROCS writers
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if _, _, err := seq.Add(ctx, benchEntry(next.Add(1))); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "appends/s")
}

// BenchmarkAddLatency measures add → integrated (durable, checkpointed,
// proof returned) over HTTP at low load: one client, one entry at a time
// (budget: ≤ 100 ms median).
func BenchmarkAddLatency(b *testing.B) {
	s, _ := newStore(b)
	seq := NewSequencer(s, DefaultMaxPending, DefaultMaxBatch)
	defer seq.Close()
	srv := httptest.NewServer(NewServer(s, seq, AdmitFunc(func([]byte) error { return nil })).Handler())
	defer srv.Close()
	c, _ := NewClient(srv.URL, s.VerifierKey())
	ctx := context.Background()
	var lat []time.Duration
	i := int64(0)
	for b.Loop() {
		i++
		t0 := time.Now()
		if _, _, err := c.Add(ctx, benchEntry(i)); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkHTTPAppend is BenchmarkAppend through POST /add and the
// verifying client: the whole path a publisher takes.
func BenchmarkHTTPAppend(b *testing.B) {
	s, _ := newStore(b)
	seq := NewSequencer(s, DefaultMaxPending, DefaultMaxBatch)
	defer seq.Close()
	srv := httptest.NewServer(NewServer(s, seq, AdmitFunc(func([]byte) error { return nil })).Handler())
	defer srv.Close()
	var next atomic.Int64
	b.SetParallelism(64)
	c, _ := NewClient(srv.URL, s.VerifierKey())
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if _, _, err := c.Add(ctx, benchEntry(next.Add(1))); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "appends/s")
}

// bigStore builds a log of SSMS_BENCH_LOG_ENTRIES entries (default
// 1,000,000, the budget's size) in b's temporary directory.
func bigStore(b *testing.B) *Store {
	n := int64(1_000_000)
	if v := os.Getenv("SSMS_BENCH_LOG_ENTRIES"); v != "" {
		n, _ = strconv.ParseInt(v, 10, 64)
	}
	s, _ := newStore(b)
	batch := make([][]byte, 0, DefaultMaxBatch)
	for i := int64(0); i < n; i++ {
		batch = append(batch, []byte(fmt.Sprintf("entry %d", i)))
		if len(batch) == cap(batch) || i == n-1 {
			if _, err := s.Append(batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	return s
}

// BenchmarkProofs measures proofs at 1,000,000 entries (budget ≤ 1 ms),
// and reports the disk used per entry beyond the entry itself (budget
// ≤ 400 bytes).
func BenchmarkProofs(b *testing.B) {
	s := bigStore(b)
	size := s.Checkpoint().Size
	b.Run("inclusion", func(b *testing.B) {
		i := int64(0)
		for b.Loop() {
			i = (i + 7919) % size
			if _, err := s.InclusionProof(i, size); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("consistency", func(b *testing.B) {
		old := int64(1)
		for b.Loop() {
			old = old%(size-1) + 7919
			if _, err := s.ConsistencyProof(min(old, size), size); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("disk", func(b *testing.B) {
		var total, payload int64
		for _, f := range []string{entriesFile, indexFile, hashesFile, checkpointFile} {
			fi, err := os.Stat(filepath.Join(s.dir, f))
			if err != nil {
				b.Fatal(err)
			}
			total += fi.Size()
		}
		for i := int64(0); i < size; i++ {
			payload += int64(len(fmt.Sprintf("entry %d", i)))
		}
		for b.Loop() {
		}
		b.ReportMetric(float64(total-payload)/float64(size), "overhead-B/entry")
	})
}
