package trillianlog_test

// A second review from outside (red team) of the mechanisms attack_test.go
// keeps: two more attacks it found, now stopped, and variants of the first
// attacks, kept so that they stay caught. Run them with Trillian up:
//
//	eval "$(./scripts/trillian up /tmp/tr)"
//	go test ./translog/trillianlog -run 'TestAttack' -v

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/trillian"
	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"ssms.dev/ssms/translog"
	"ssms.dev/ssms/translog/trillianlog"
)

// TestAttackResumeImportAfterATilingStep: `ssms log migrate` of a log
// larger than one tiling step (maxRound, 65,536 entries; 256 here) is
// interrupted after its first step was stored. The tree is marked, front
// ends refuse it and say to run the migration again to the end. Run again,
// the migration fails for good: the first step cleared the sequence's
// entries of the bundles it stored (store empties SsmsQueue.Entry),
// record keeps the cleared rows (ON DUPLICATE KEY UPDATE), and tileAll
// starts over from 0, where indexed finds no entry at index 0 and raises
// an alarm. Expected: the resumed migration completes, as deploy.md and
// the refusal's message promise.
func TestAttackResumeImportAfterATilingStep(t *testing.T) {
	addr, dsn := env(t)
	defer trillianlog.SetMaxRound(256)()
	const n = 700
	src, key := embeddedLog(t, n)
	anchor := src.Checkpoint()
	tree := newTree(t, addr)

	importInterrupted(t, dsn, addr, tree, key, src, "tiling", 256) // after the first step was stored

	rctx, rcancel := context.WithTimeout(context.Background(), time.Minute)
	defer rcancel()
	cp, err := trillianlog.Import(rctx, dsn, addr, tree, key, src, nil)
	if err != nil {
		t.Fatalf("the import, run again as the refusal says, fails: %v", err)
	}
	if string(cp.Raw) != string(anchor.Raw) {
		t.Fatal("the resumed import returned another checkpoint")
	}
	l := openFrontEnd(t, addr, dsn, trillianlog.Options{TreeID: tree, Key: key})
	if got := l.Checkpoint(); string(got.Raw) != string(anchor.Raw) {
		t.Fatalf("after the resumed import the front end serves size %d, want %d", got.Size, anchor.Size)
	}
}

// TestAttackOrphanLeafDataStallsWithoutAlarm: someone with write access
// to the database (Trillian's tables are in it) inserts a LeafData row
// with the identity hash of an entry about to be added, and no
// SequencedLeafData row. Trillian refuses the entry when the log hands it
// over ("conflicting LeafIdentityHash") and stores nothing at its index,
// so the tree never grows again; checkHeld finds the identity nowhere in
// SequencedLeafData and nothing at the index, and returns a plain error
// (sequence.go checkHeld, last line), not an alarm: the log stops for
// good, retrying every round, with OnError only. Expected: an alarm, as
// for the identity held at another index: Trillian refused a leaf the log
// gave an index to, and nothing will ever fill that index.
func TestAttackOrphanLeafData(t *testing.T) {
	addr, dsn := env(t)
	db := openDB(t, dsn)
	var alarm, errs_ alarms
	opts := trillianlog.Options{TreeID: newTree(t, addr), Key: newKey(t), OnAlarm: alarm.raise, OnError: errs_.raise}
	l := openFrontEnd(t, addr, dsn, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, _, err := l.Add(ctx, []byte("before")); err != nil {
		t.Fatal(err)
	}
	victim := []byte("an entry the attacker knows will be added")
	h := tlog.RecordHash(victim)
	if _, err := db.Exec(`INSERT INTO LeafData(TreeId, LeafIdentityHash, LeafValue, ExtraData, QueueTimestampNanos) VALUES (?, ?, 'squatter', NULL, 0)`,
		opts.TreeID, h[:]); err != nil {
		t.Fatal(err)
	}
	actx, acancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer acancel()
	_, _, addErr := l.Add(actx, victim)
	if addErr == nil {
		return // fixed some other way: the entry was signed
	}
	if !errorsIsAlarm(alarm.list()) {
		var seen []string
		for _, err := range errs_.list() {
			if len(seen) < 3 {
				seen = append(seen, err.Error())
			}
		}
		t.Fatalf("log stalled: Add(victim) = %v; no alarm; %d errors reported, the first: %q", addErr, len(errs_.list()), seen)
	}
}

// TestAttackCaughtSquattedIndex: a leaf put at the index the log will
// give next (not the identity: the index) is an alarm, whether Trillian
// integrated it first or refused the log's leaf.
func TestAttackCaughtSquattedIndex(t *testing.T) {
	addr, dsn := env(t)
	var alarm alarms
	opts := trillianlog.Options{TreeID: newTree(t, addr), Key: newKey(t), OnAlarm: alarm.raise}
	l := openFrontEnd(t, addr, dsn, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, _, err := l.Add(ctx, []byte("before")); err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Index 3, two ahead of the next: the log reaches it with its own leaf.
	other := tlog.RecordHash([]byte("squatter"))
	if _, err := trillian.NewTrillianLogClient(conn).AddSequencedLeaves(ctx, &trillian.AddSequencedLeavesRequest{LogId: opts.TreeID,
		Leaves: []*trillian.LogLeaf{{LeafIndex: 3, LeafIdentityHash: other[:], LeafValue: []byte("squatter")}}}); err != nil {
		t.Fatal(err)
	}
	for _, e := range []string{"one", "two", "three"} {
		actx, acancel := context.WithTimeout(ctx, 5*time.Second)
		_, _, err := l.Add(actx, []byte(e))
		acancel()
		if err != nil {
			break
		}
	}
	if !errorsIsAlarm(alarm.list()) {
		t.Fatalf("a leaf at an index the log gives later: no alarm")
	}
}

// TestAttackCaughtImportMarkerDeleted: the SsmsImport row of an
// interrupted migration deleted by hand: the front end's checkpointer
// finds an unsigned tree with indexed entries and raises an alarm instead
// of signing.
func TestAttackCaughtImportMarkerDeleted(t *testing.T) {
	addr, dsn := env(t)
	db := openDB(t, dsn)
	src, key := embeddedLog(t, 1300)
	tree := newTree(t, addr)
	ctx, cancel := context.WithCancel(context.Background())
	_, err := trillianlog.Import(ctx, dsn, addr, tree, key, src, func(stage string, done, total int64) {
		if stage == "recording" && done >= 1024 {
			cancel()
		}
	})
	cancel()
	if err == nil {
		t.Fatal("the interrupted import completed")
	}
	if _, err := db.Exec(`DELETE FROM SsmsImport WHERE TreeId = ?`, tree); err != nil {
		t.Fatal(err)
	}
	var alarm alarms
	octx, ocancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer ocancel()
	l, err := trillianlog.Open(octx, dsn, addr, trillianlog.Options{TreeID: tree, Key: key, Poll: 5 * time.Millisecond, OnAlarm: alarm.raise})
	if err == nil {
		l.Close()
		t.Fatalf("a front end started on a half-imported tree whose marker was deleted, serving size %d", l.Checkpoint().Size)
	}
	if !errors.Is(err, trillianlog.ErrAlarm) || !strings.Contains(err.Error(), "never signed a checkpoint") {
		t.Fatalf("Open: %v, want the unsigned-tree alarm", err)
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM SsmsCheckpoint WHERE TreeId = ?`, tree).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d checkpoints stored (%v)", n, err)
	}
}

// TestAttackCaughtTamperedFullBundle: a full stored entry bundle changed
// in the database, the bytes alone or the level-0 tile's hash with them:
// serving it is an alarm, on a front end that never read the tiles before
// (nothing verified in memory).
func TestAttackCaughtTamperedFullBundle(t *testing.T) {
	addr, dsn := env(t)
	for _, withTile := range []bool{false, true} {
		name := "bundle"
		if withTile {
			name = "bundle and level-0 tile"
		}
		t.Run(name, func(t *testing.T) {
			db := openDB(t, dsn)
			opts := trillianlog.Options{TreeID: newTree(t, addr), Key: newKey(t)}
			l := openFrontEnd(t, addr, dsn, opts)
			addMany(t, l, 1<<translog.TileHeight)
			l.Close()
			var data []byte
			if err := db.QueryRow(`SELECT Data FROM SsmsTile WHERE TreeId = ? AND Level = -1 AND N = 0`, opts.TreeID).Scan(&data); err != nil {
				t.Fatalf("no full bundle stored: %v", err)
			}
			entries := bundleEntries(t, data)
			forged := []byte(strings.Repeat("F", len(entries[7])))
			var b []byte
			for i, e := range entries {
				if i == 7 {
					e = forged
				}
				b = append(b, byte(len(e)>>8), byte(len(e)))
				b = append(b, e...)
			}
			if _, err := db.Exec(`UPDATE SsmsTile SET Data = ? WHERE TreeId = ? AND Level = -1 AND N = 0`, b, opts.TreeID); err != nil {
				t.Fatal(err)
			}
			if withTile {
				var tile []byte
				if err := db.QueryRow(`SELECT Data FROM SsmsTile WHERE TreeId = ? AND Level = 0 AND N = 0`, opts.TreeID).Scan(&tile); err != nil {
					t.Fatal(err)
				}
				h := tlog.RecordHash(forged)
				copy(tile[7*tlog.HashSize:], h[:])
				if _, err := db.Exec(`UPDATE SsmsTile SET Data = ? WHERE TreeId = ? AND Level = 0 AND N = 0`, tile, opts.TreeID); err != nil {
					t.Fatal(err)
				}
			}
			var alarm alarms
			opts.OnAlarm = alarm.raise
			opts.NoCheckpointer = true
			l = openFrontEnd(t, addr, dsn, opts)
			got, err := l.EntryBundle(0, 1<<translog.TileHeight)
			if err == nil {
				t.Fatalf("served the tampered bundle (entry 7 = %q)", bundleEntries(t, got)[7])
			}
			if !errorsIsAlarm(alarm.list()) {
				t.Fatalf("EntryBundle: %v, and no alarm", err)
			}
		})
	}
}

// pauseSigner stops Trillian's signer (SIGSTOP, by the pid scripts/trillian
// recorded) until the returned function, also run at cleanup, resumes it.
func pauseSigner(t *testing.T) (resume func()) {
	dir := os.Getenv("TRILLIAN_DIR")
	if dir == "" {
		t.Skip("TRILLIAN_DIR is not set: scripts/trillian up sets it")
	}
	raw, err := os.ReadFile(filepath.Join(dir, "signer.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	resume = func() { once.Do(func() { syscall.Kill(pid, syscall.SIGCONT) }) }
	t.Cleanup(resume)
	return resume
}

// TestAttackCaughtHandOverAgain: no false alarm when a checkpointer hands
// over again leaves Trillian holds but has not integrated (its signer was
// stopped, the front end that handed them over closed): Trillian answers
// FailedPrecondition, checkHeld finds each at its index, and the entry is
// signed at the index first given once the signer runs.
func TestAttackCaughtHandOverAgain(t *testing.T) {
	addr, dsn := env(t)
	db := openDB(t, dsn)
	opts := trillianlog.Options{TreeID: newTree(t, addr), Key: newKey(t)}
	fe1 := openFrontEnd(t, addr, dsn, opts) // the checkpointer: it signed the empty tree
	fe2 := openFrontEnd(t, addr, dsn, opts)
	resume := pauseSigner(t)
	added := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _, err := fe1.Add(ctx, []byte("handed over twice"))
		added <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM SequencedLeafData WHERE TreeId = ?`, opts.TreeID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the entry was not handed over")
		}
		time.Sleep(5 * time.Millisecond)
	}
	fe1.Close()
	<-added
	time.Sleep(500 * time.Millisecond) // fe2 takes the lock and hands it over again
	resume()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	i, _, err := fe2.Add(ctx, []byte("handed over twice"))
	if err != nil || i != 0 {
		t.Fatalf("Add through the new checkpointer's front end: index %d, %v", i, err)
	}
	if err := fe2.Alarm(); err != nil {
		t.Fatal(err)
	}
}

// TestAttackCaughtBundlesDuringMariaDBRestart: no false alarm from the
// bundle checks while the database restarts under readers of full and
// partial bundles and writers (the checkpointer loses its lock, the next
// one reads and checks the tail again).
func TestAttackCaughtBundlesDuringMariaDBRestart(t *testing.T) {
	addr, dsn := env(t)
	opts := trillianlog.Options{TreeID: newTree(t, addr), Key: newKey(t)}
	fes := []*trillianlog.Log{openFrontEnd(t, addr, dsn, opts), openFrontEnd(t, addr, dsn, opts)}
	addMany(t, fes[0], 300)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var reads, readErrs atomic.Int64
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fe := fes[g%2]
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if g < 2 {
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					fe.Add(ctx, []byte(fmt.Sprintf("writer %d entry %d", g, i)))
					cancel()
					continue
				}
				cp := fe.Checkpoint()
				n := cp.Size >> translog.TileHeight
				w := int(cp.Size % (1 << translog.TileHeight))
				if w == 0 {
					n, w = n-1, 1<<translog.TileHeight
				}
				for _, b := range [][2]int64{{0, 1 << translog.TileHeight}, {n, int64(w)}} {
					reads.Add(1)
					if _, err := fe.EntryBundle(b[0], int(b[1])); err != nil {
						readErrs.Add(1)
					}
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	restart(t, "mariadb")
	time.Sleep(3 * time.Second)
	close(stop)
	wg.Wait()
	t.Logf("%d bundle reads, %d failed; final size %d", reads.Load(), readErrs.Load(), fes[1].Checkpoint().Size)
	for _, fe := range fes {
		if err := fe.Alarm(); err != nil {
			t.Fatalf("false alarm: %v", err)
		}
	}
}
