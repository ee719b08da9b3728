package tessera

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/storage/posix"
	"golang.org/x/mod/sumdb/note"
	"k8s.io/klog/v2"

	"ssms.dev/ssms/translog"
)

// addFunc appends one entry and returns once a published checkpoint
// covers it: the moment a client could get its proof.
type addFunc func(ctx context.Context, entry []byte) error

func ssmsLog(b *testing.B) addFunc {
	dir := filepath.Join(b.TempDir(), "log")
	if _, err := translog.Init(dir, "bench.ssms"); err != nil {
		b.Fatal(err)
	}
	s, err := translog.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	seq := translog.NewSequencer(s, translog.DefaultMaxPending, translog.DefaultMaxBatch)
	b.Cleanup(func() { seq.Close(); s.Close() })
	return func(ctx context.Context, e []byte) error {
		_, _, err := seq.Add(ctx, e)
		return err
	}
}

// tesseraLog runs Tessera POSIX with its most latency-friendly settings:
// batches flushed after 10 ms, checkpoints every 100 ms, awaited by
// polling every 5 ms (its defaults are 250 ms and 10 s).
func tesseraLog(b *testing.B) addFunc {
	ctx, cancel := context.WithCancel(context.Background())
	skey, _, err := note.GenerateKey(rand.Reader, "bench.tessera")
	if err != nil {
		b.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	driver, err := posix.New(ctx, posix.Config{Path: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	opts := tessera.NewAppendOptions().
		WithCheckpointSigner(signer).
		WithBatching(translog.DefaultMaxBatch, 10*time.Millisecond).
		WithCheckpointInterval(100 * time.Millisecond)
	appender, shutdown, reader, err := tessera.NewAppender(ctx, driver, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { shutdown(context.Background()); cancel() })
	awaiter := tessera.NewPublicationAwaiter(ctx, reader.ReadCheckpoint, 5*time.Millisecond)
	return func(ctx context.Context, e []byte) error {
		_, _, err := awaiter.Await(ctx, appender.Add(ctx, tessera.NewEntry(e)))
		return err
	}
}

func init() {
	// Tessera logs through klog; keep its chatter out of the results.
	klog.LogToStderr(false)
	klog.SetOutput(io.Discard)
}

var logs = []struct {
	name string
	open func(*testing.B) addFunc
}{{"ssms", ssmsLog}, {"tessera-posix", tesseraLog}}

func entry(i int64) []byte {
	e := make([]byte, 1024)
	copy(e, fmt.Sprintf("entry %d ", i))
	return e
}

// BenchmarkAppend: sustained appends with many concurrent writers. Each
// writer waits for its entry to be published, so a log with a long
// publication interval needs many writers to show its throughput (Little's
// law); 2,048 writers keep both logs' pipelines full.
func BenchmarkAppend(b *testing.B) {
	for _, l := range logs {
		b.Run(l.name, func(b *testing.B) {
			add := l.open(b)
			var next atomic.Int64
			b.SetParallelism(1024)
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := add(context.Background(), entry(next.Add(1))); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "appends/s")
		})
	}
}

// BenchmarkLatency: add → in a published checkpoint, one writer at a time.
func BenchmarkLatency(b *testing.B) {
	for _, l := range logs {
		b.Run(l.name, func(b *testing.B) {
			add := l.open(b)
			var lat []time.Duration
			i := int64(0)
			for b.Loop() {
				i++
				t0 := time.Now()
				if err := add(context.Background(), entry(i)); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
