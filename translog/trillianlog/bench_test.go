package trillianlog_test

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

	"github.com/google/trillian"
	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"ssms.dev/ssms/translog"
	"ssms.dev/ssms/translog/trillianlog"
)

// The benchmarks run both backends side by side, in one run, on the same
// machine: "embedded" is translog's store, "trillian" this package over
// the Trillian and MariaDB of scripts/trillian (skipped without them).
//
//	eval "$(./scripts/trillian up /tmp/trillian)"
//	go test -run '^$' -bench . -benchtime 20000x ./translog/trillianlog/

// benchEntry is about the size of a signed release, as translog's
// benchmarks use.
func benchEntry(i int64) []byte {
	e := make([]byte, 1024)
	copy(e, fmt.Sprintf("bench entry %d %d ", time.Now().UnixNano(), i))
	return e
}

var admitAll = translog.AdmitFunc(func([]byte) error { return nil })

// embeddedStore is a new embedded store in dir, closed by b.Cleanup.
func embeddedStore(b *testing.B) (s *translog.Store, dir string) {
	dir = filepath.Join(b.TempDir(), "log")
	if _, err := translog.Init(dir, "log.example/bench"); err != nil {
		b.Fatal(err)
	}
	s, err := translog.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s, dir
}

// backends returns the front ends of a new log of each backend: one for
// the embedded store, frontEnds for Trillian.
func backends(b *testing.B, frontEnds int) map[string][]translog.Backend {
	out := map[string][]translog.Backend{}
	s, _ := embeddedStore(b)
	seq := translog.NewSequencer(s, translog.DefaultMaxPending, translog.DefaultMaxBatch)
	b.Cleanup(seq.Close)
	out["embedded"] = []translog.Backend{translog.Embedded{Store: s, Seq: seq}}
	addr, dsn := os.Getenv("TRILLIAN_ADDR"), os.Getenv("SSMS_DB")
	if addr != "" && dsn != "" {
		opts := trillianlog.Options{TreeID: newTree(b, addr), Key: newKey(b), Poll: 10 * time.Millisecond} // the default
		for range frontEnds {
			out["trillian"] = append(out["trillian"], openFrontEnd(b, addr, dsn, opts))
		}
	}
	return out
}

func clientsOf(b *testing.B, fes []translog.Backend) []*translog.Client {
	var out []*translog.Client
	for _, fe := range fes {
		srv := httptest.NewServer(translog.NewBackendServer(fe, admitAll).Handler())
		b.Cleanup(srv.Close)
		c, err := translog.NewClient(srv.URL, fe.VerifierKey())
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

func eachBackend(b *testing.B, frontEnds int, f func(b *testing.B, clients []*translog.Client)) {
	bs := backends(b, frontEnds)
	for _, name := range []string{"embedded", "trillian"} {
		b.Run(name, func(b *testing.B) {
			if bs[name] == nil {
				b.Skip("TRILLIAN_ADDR or SSMS_DB is not set: run scripts/trillian up first")
			}
			f(b, clientsOf(b, bs[name]))
		})
	}
}

// BenchmarkHTTPAppend measures sustained appends through POST /add and
// the verifying client, 512 writers spread over three front ends
// (Trillian) or one (embedded); budget for Trillian: ≥ 1,000 appends/s.
// Each op is one entry acknowledged, that is covered by a signed
// checkpoint.
func BenchmarkHTTPAppend(b *testing.B) {
	eachBackend(b, 3, func(b *testing.B, clients []*translog.Client) {
		var next atomic.Int64
		b.SetParallelism(512 / max(1, testingProcs()))
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				i := next.Add(1)
				if _, _, err := clients[i%int64(len(clients))].Add(ctx, benchEntry(i)); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "appends/s")
	})
}

func testingProcs() int {
	n, _ := strconv.Atoi(os.Getenv("GOMAXPROCS"))
	if n > 0 {
		return n
	}
	return 2
}

// BenchmarkAddLatency measures add → integrated over HTTP at low load: one
// client, one entry at a time.
func BenchmarkAddLatency(b *testing.B) {
	eachBackend(b, 1, func(b *testing.B, clients []*translog.Client) {
		ctx := context.Background()
		var lat []time.Duration
		i := int64(0)
		for b.Loop() {
			i++
			t0 := time.Now()
			if _, _, err := clients[0].Add(ctx, benchEntry(i)); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		reportPercentiles(b, lat)
	})
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2])/1e6, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100])/1e6, "p99-ms")
}

// benchSize is the size of the logs BenchmarkProofs builds:
// SSMS_BENCH_LOG_ENTRIES (as for translog's benchmarks), by default
// 1,000,000, the budget's size.
func benchSize() int64 {
	n := int64(1_000_000)
	if v := os.Getenv("SSMS_BENCH_LOG_ENTRIES"); v != "" {
		n, _ = strconv.ParseInt(v, 10, 64)
	}
	return n
}

// bigLogs builds a log of benchSize() entries in the embedded store and
// moves it onto Trillian with Import (ssms log migrate), so that both
// backends serve the same log; a front end then serves it.
func bigLogs(b *testing.B) map[string]translog.Backend {
	n := benchSize()
	out := map[string]translog.Backend{}
	s, dir := embeddedStore(b)
	var batch [][]byte
	for i := range n {
		batch = append(batch, fmt.Appendf(nil, "entry %d", i))
		if len(batch) == translog.DefaultMaxBatch || i == n-1 {
			if _, err := s.Append(batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	out["embedded"] = translog.Embedded{Store: s}
	addr, dsn := os.Getenv("TRILLIAN_ADDR"), os.Getenv("SSMS_DB")
	if addr == "" || dsn == "" {
		return out
	}
	key, err := translog.LoadKey(dir)
	if err != nil {
		b.Fatal(err)
	}
	tree := newTree(b, addr)
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	start := time.Now()
	if _, err := trillianlog.Import(ctx, dsn, addr, tree, key, s, nil); err != nil {
		b.Fatal(err)
	}
	b.Logf("trillian: %d entries imported (recorded, integrated by Trillian, tiled) in %v", n, time.Since(start).Round(time.Second))
	l, err := trillianlog.Open(ctx, dsn, addr, trillianlog.Options{TreeID: tree, Key: key})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	out["trillian"] = l
	return out
}

// BenchmarkProofs measures, at benchSize() entries, inclusion and
// consistency proofs, a hash tile and an entry bundle from each backend
// (budget for Trillian: ≤ 2 ms median); each op is one of each.
func BenchmarkProofs(b *testing.B) {
	logs := bigLogs(b)
	for _, name := range []string{"embedded", "trillian"} {
		b.Run(name, func(b *testing.B) {
			l := logs[name]
			if l == nil {
				b.Skip("TRILLIAN_ADDR or SSMS_DB is not set: run scripts/trillian up first")
			}
			size := l.Checkpoint().Size
			var incl, cons, tile, bundle []time.Duration
			i := int64(0)
			for b.Loop() {
				i = (i + 7919) % size
				t0 := time.Now()
				if _, err := l.InclusionProof(i, size); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if _, err := l.ConsistencyProof(max(i, 1), size); err != nil {
					b.Fatal(err)
				}
				t2 := time.Now()
				n := i >> translog.TileHeight
				w := int(min(size-n<<translog.TileHeight, 1<<translog.TileHeight))
				if _, err := l.Tile(0, n, w); err != nil {
					b.Fatal(err)
				}
				t3 := time.Now()
				if _, err := l.EntryBundle(n, w); err != nil {
					b.Fatal(err)
				}
				t4 := time.Now()
				incl, cons, tile, bundle = append(incl, t1.Sub(t0)), append(cons, t2.Sub(t1)), append(tile, t3.Sub(t2)), append(bundle, t4.Sub(t3))
			}
			for _, m := range []struct {
				name string
				lat  []time.Duration
			}{{"inclusion", incl}, {"consistency", cons}, {"tile", tile}, {"bundle", bundle}} {
				slices.Sort(m.lat)
				b.ReportMetric(float64(m.lat[len(m.lat)/2])/1e6, m.name+"-p50-ms")
			}
		})
	}
}

// BenchmarkQueueLeafDirect measures Trillian alone, without any front end:
// 256 clients calling QueueLeaf, each op one leaf queued and integrated
// into Trillian's tree. It is the ceiling of BenchmarkHTTPAppend/trillian
// on the same machine.
func BenchmarkQueueLeafDirect(b *testing.B) {
	addr, _ := env(b)
	tree := newLogTree(b, addr)
	c := logClient(b, addr)
	ctx := context.Background()
	var next atomic.Int64
	b.SetParallelism(256 / max(1, testingProcs()))
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e := benchEntry(next.Add(1))
			h := tlog.RecordHash(e)
			if _, err := c.QueueLeaf(ctx, &trillian.QueueLeafRequest{LogId: tree, Leaf: &trillian.LogLeaf{LeafValue: e, LeafIdentityHash: h[:]}}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	waitTrillianSize(b, ctx, c, tree, int64(b.N))
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "leaves/s")
}

// BenchmarkAddSequencedDirect measures Trillian alone in the mode the log
// uses, without any front end: batches of 2,048 entries handed over with
// AddSequencedLeaves into a PREORDERED_LOG tree, each op one leaf
// integrated. It is the ceiling of BenchmarkHTTPAppend/trillian on the
// same machine.
func BenchmarkAddSequencedDirect(b *testing.B) {
	addr, _ := env(b)
	tree := newTree(b, addr)
	c := logClient(b, addr)
	ctx := context.Background()
	start := time.Now()
	for first := int64(0); first < int64(b.N); first += 2048 {
		var leaves []*trillian.LogLeaf
		for i := first; i < min(int64(b.N), first+2048); i++ {
			e := benchEntry(i)
			h := tlog.RecordHash(e)
			leaves = append(leaves, &trillian.LogLeaf{LeafValue: e, LeafIdentityHash: h[:], LeafIndex: i})
		}
		if _, err := c.AddSequencedLeaves(ctx, &trillian.AddSequencedLeavesRequest{LogId: tree, Leaves: leaves}); err != nil {
			b.Fatal(err)
		}
	}
	waitTrillianSize(b, ctx, c, tree, int64(b.N))
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "leaves/s")
}

// logClient is a client of Trillian's log API at addr, closed at the end.
func logClient(b *testing.B, addr string) trillian.TrillianLogClient {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	return trillian.NewTrillianLogClient(conn)
}
