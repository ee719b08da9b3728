package trillianlog_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/trillian"
	"github.com/google/trillian/types"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"ssms.dev/ssms/translog"
	"ssms.dev/ssms/translog/trillianlog"
)

func openDB(t *testing.T, dsn string) *sql.DB {
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func maxSize(t *testing.T, db *sql.DB, tree int64) int64 {
	var n int64
	if err := db.QueryRow(`SELECT MAX(Size) FROM SsmsCheckpoint WHERE TreeId = ?`, tree).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// nothingSignedAfter waits a moment and checks that the largest stored
// checkpoint of tree still has size size: nothing was signed after an
// alarm.
func nothingSignedAfter(t *testing.T, db *sql.DB, tree, size int64) {
	t.Helper()
	time.Sleep(200 * time.Millisecond)
	if n := maxSize(t, db, tree); n != size {
		t.Fatalf("a checkpoint of size %d was signed after the alarm", n)
	}
}

func addMany(t *testing.T, l *trillianlog.Log, n int) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, _, err := l.Add(ctx, fmt.Appendf(nil, "entry %d", i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

// alarms collects what a front end reports through OnAlarm (or OnError).
type alarms struct {
	mu   sync.Mutex
	errs []error
}

func (a *alarms) raise(err error) { a.mu.Lock(); a.errs = append(a.errs, err); a.mu.Unlock() }

func (a *alarms) list() []error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]error(nil), a.errs...)
}

func (a *alarms) wait(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		a.mu.Lock()
		for _, err := range a.errs {
			if errors.Is(err, trillianlog.ErrAlarm) && strings.Contains(err.Error(), want) {
				a.mu.Unlock()
				return
			}
		}
		a.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no alarm %q; got %v", want, a.errs)
}

// TestAlarmDatabaseRestored restarts a front end over a database whose
// checkpoints were restored from a backup older than what it served: it
// raises an alarm and signs nothing.
func TestAlarmDatabaseRestored(t *testing.T) {
	addr, dsn := env(t)
	db := openDB(t, dsn)
	var a alarms
	opts := trillianlog.Options{TreeID: newTree(t, addr), Key: newKey(t), StateFile: filepath.Join(t.TempDir(), "served"), OnAlarm: a.raise}
	l := openFrontEnd(t, addr, dsn, opts)
	addMany(t, l, 10)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM SsmsCheckpoint WHERE TreeId = ? AND Size > 0`, opts.TreeID); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts.Poll = 5 * time.Millisecond
	if l, err := trillianlog.Open(ctx, dsn, addr, opts); !errors.Is(err, trillianlog.ErrAlarm) {
		if l != nil {
			l.Close()
		}
		t.Fatalf("front end over a restored database: %v, want an alarm", err)
	}
	// The front end's poll or its checkpointer, whichever reads the
	// database first, finds it behind what the front end served.
	a.wait(t, "this front end served")
	nothingSignedAfter(t, db, opts.TreeID, 0)
}

// TestAlarmInconsistentRoot stores a checkpoint, signed by the log's key,
// that Trillian's tree contradicts: the checkpointer raises an alarm and
// signs nothing after it.
func TestAlarmInconsistentRoot(t *testing.T) {
	addr, dsn := env(t)
	for _, tc := range []struct {
		size int64
		want string
	}{
		{5, "is not consistent with the signed size 5"},
		{8, "Trillian's root for size 8 is not the signed one"},
		{9, "smaller than the signed 9"},
	} {
		t.Run(fmt.Sprint(tc.size), func(t *testing.T) {
			db := openDB(t, dsn)
			key := newKey(t)
			opts := trillianlog.Options{TreeID: newTree(t, addr), Key: key}
			openFrontEnd(t, addr, dsn, opts).Close() // signs the empty tree
			addDirectly(t, addr, opts.TreeID, 8)
			body := translog.Checkpoint{Origin: key.Signer.Name(), Size: tc.size, Hash: tlog.Hash{1, 2, 3}}
			signed, err := note.Sign(&note.Note{Text: string(body.Marshal())}, key.Signer)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(`INSERT INTO SsmsCheckpoint(TreeId, Size, RootHash, Note) VALUES (?, ?, ?, ?)`,
				opts.TreeID, tc.size, body.Hash[:], signed); err != nil {
				t.Fatal(err)
			}
			var a alarms
			opts.OnAlarm = a.raise
			l := openFrontEnd(t, addr, dsn, opts)
			a.wait(t, tc.want)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if _, _, err := l.Add(ctx, []byte("after the alarm")); !errors.Is(err, trillianlog.ErrAlarm) {
				t.Errorf("Add after the alarm: %v", err)
			}
			nothingSignedAfter(t, db, opts.TreeID, tc.size)
		})
	}
}

// addDirectly adds n leaves to Trillian's tree at indexes 0..n-1,
// bypassing the front ends, and waits until Trillian has integrated them.
func addDirectly(t *testing.T, addr string, tree int64, n int) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := trillian.NewTrillianLogClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var leaves []*trillian.LogLeaf
	for i := range n {
		e := fmt.Appendf(nil, "direct %d", i)
		h := tlog.RecordHash(e)
		leaves = append(leaves, &trillian.LogLeaf{LeafValue: e, LeafIdentityHash: h[:], LeafIndex: int64(i)})
	}
	if _, err := c.AddSequencedLeaves(ctx, &trillian.AddSequencedLeavesRequest{LogId: tree, Leaves: leaves}); err != nil {
		t.Fatal(err)
	}
	waitTrillianSize(t, ctx, c, tree, int64(n))
}

// waitTrillianSize waits until Trillian's tree has n leaves or more.
func waitTrillianSize(t testing.TB, ctx context.Context, c trillian.TrillianLogClient, tree, n int64) {
	for {
		r, err := c.GetLatestSignedLogRoot(ctx, &trillian.GetLatestSignedLogRootRequest{LogId: tree})
		if err != nil {
			t.Fatal(err)
		}
		var root types.LogRootV1
		if err := root.UnmarshalBinary(r.SignedLogRoot.LogRoot); err != nil {
			t.Fatal(err)
		}
		if root.TreeSize >= uint64(n) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// crash runs additions through two front ends over HTTP while crash
// happens, and checks that the log went on: every acknowledged entry is
// in the final checkpoint at the index it was given, every checkpoint a
// client saw is consistent with the final one, and additions succeeded
// after the crash.
func crash(t *testing.T, crash func(fe1 *trillianlog.Log)) {
	addr, dsn := env(t)
	opts := trillianlog.Options{TreeID: newTree(t, addr), Key: newKey(t)}
	fes := []*trillianlog.Log{openFrontEnd(t, addr, dsn, opts), openFrontEnd(t, addr, dsn, opts)}
	var clients []*translog.Client
	for _, fe := range fes {
		srv := httptest.NewServer(translog.NewBackendServer(fe, translog.AdmitFunc(func([]byte) error { return nil })).Handler())
		t.Cleanup(srv.Close)
		c, err := translog.NewClient(srv.URL, opts.Key.VKey)
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	type ack struct {
		index int64
		entry []byte
		cp    *translog.SignedCheckpoint
	}
	var mu sync.Mutex
	var acks []ack
	var crashed, afterCrash, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				// Front end 0 may be the one that crashes: after the crash
				// only front end 1 is used.
				c := clients[(g+i)%2]
				if crashed.Load() == 1 {
					c = clients[1]
				}
				e := fmt.Appendf(nil, "writer %d entry %d", g, i)
				// A client retries a front end that answers 503 (one that
				// crashed does); 10 s, and the writer moves on.
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				p, cp, err := c.Add(ctx, e)
				cancel()
				if err != nil {
					failed.Add(1)
					time.Sleep(50 * time.Millisecond)
					continue
				}
				if crashed.Load() == 1 {
					afterCrash.Add(1)
				}
				mu.Lock()
				acks = append(acks, ack{p.Index, e, cp})
				mu.Unlock()
			}
		}()
	}
	time.Sleep(time.Second)
	crashStart := time.Now()
	crash(fes[0])
	crashed.Store(1)
	t.Logf("the crash took %v", time.Since(crashStart).Round(time.Millisecond))
	// The log must go on: additions succeed within 30 s (a front end
	// takes over as checkpointer, Trillian or MariaDB is back), however
	// loaded the machine; then a few more seconds of traffic.
	for deadline := time.Now().Add(30 * time.Second); afterCrash.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	if afterCrash.Load() == 0 {
		t.Fatalf("no addition succeeded after the crash (%d failed)", failed.Load())
	}
	ctx := context.Background()
	final, err := clients[1].Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]string{}
	for _, a := range acks {
		if prev, ok := seen[a.index]; ok && prev != string(a.entry) {
			t.Fatalf("index %d acknowledged for two entries", a.index)
		}
		seen[a.index] = string(a.entry)
		if _, err := clients[1].InclusionProof(ctx, a.index, translog.LeafHash(a.entry), final.Checkpoint); err != nil {
			t.Fatalf("acknowledged entry %d: %v", a.index, err)
		}
		if err := clients[1].CheckConsistency(ctx, a.cp.Checkpoint, final.Checkpoint); err != nil {
			t.Fatalf("checkpoint %d: %v", a.cp.Size, err)
		}
	}
	t.Logf("%d entries acknowledged (%d after the crash), %d additions failed, final size %d", len(acks), afterCrash.Load(), failed.Load(), final.Size)
}

// restart kills a process that scripts/trillian started, with SIGKILL, and
// starts it again.
func restart(t *testing.T, name string) {
	dir := os.Getenv("TRILLIAN_DIR")
	if dir == "" {
		t.Skip("TRILLIAN_DIR is not set: scripts/trillian up sets it")
	}
	out, err := exec.Command("../../scripts/trillian", "restart", dir, name).CombinedOutput()
	if err != nil {
		t.Fatalf("restarting %s: %v\n%s", name, err, out)
	}
}

func TestCrashFrontEnd(t *testing.T) {
	crash(t, func(fe1 *trillianlog.Log) { fe1.Close() })
}

func TestCrashSigner(t *testing.T) {
	crash(t, func(*trillianlog.Log) { restart(t, "signer") })
}

func TestCrashMariaDB(t *testing.T) {
	crash(t, func(*trillianlog.Log) { restart(t, "mariadb") })
}
