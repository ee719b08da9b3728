package trillianlog_test

// Attacks found by a review from outside (red team), each kept as a test
// of the mechanism that now stops it. Run them with Trillian up:
//
//	eval "$(./scripts/trillian up /tmp/tr)"
//	go test ./translog/trillianlog -run 'TestAttack' -v

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/trillian"
	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"ssms.dev/ssms/translog"
	"ssms.dev/ssms/translog/trillianlog"
)

// TestAttackHalfImportedTreeForks: `ssms log migrate` interrupted while
// recording (killed, its database connection lost), then a front end
// started on the tree (a supervisor that starts front ends, an operator
// who did not resume). The front end does not tell a half-imported tree
// from a new one: it signs the recorded prefix as its own log and gives
// the next index to a new entry, so the log's key has signed two
// histories that fork at that index (the embedded log's checkpoint, which
// witnesses cosigned, and the front end's). Expected: a front end refuses
// a tree whose sequence holds indexed entries but no checkpoint (an import
// in progress) and says to resume the migration.
func TestAttackHalfImportedTreeForks(t *testing.T) {
	addr, dsn := env(t)
	const n = 1300 // more than one import statement (1,024 entries)
	src, key := embeddedLog(t, n)
	anchor := src.Checkpoint()
	tree := newTree(t, addr)

	importInterrupted(t, dsn, addr, tree, key, src, "recording", 1024) // after its first statement

	var alarm alarms
	octx, ocancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer ocancel()
	l, err := trillianlog.Open(octx, dsn, addr, trillianlog.Options{TreeID: tree, Key: key, Poll: 5 * time.Millisecond,
		StateFile: filepath.Join(t.TempDir(), "served"), OnAlarm: alarm.raise})
	if err != nil {
		if !strings.Contains(err.Error(), "run it again to the end") {
			t.Fatalf("front end over a half-imported tree: %v, want the import's refusal", err)
		}
		// Resumed, the import completes, and the tree is the log's.
		rctx, rcancel := context.WithTimeout(context.Background(), time.Minute)
		defer rcancel()
		if cp, err := trillianlog.Import(rctx, dsn, addr, tree, key, src, nil); err != nil || string(cp.Raw) != string(anchor.Raw) {
			t.Fatalf("resumed import: %v", err)
		}
		l := openFrontEnd(t, addr, dsn, trillianlog.Options{TreeID: tree, Key: key})
		if got := l.Checkpoint(); string(got.Raw) != string(anchor.Raw) {
			t.Fatalf("after the resumed import the front end serves size %d, want the embedded log's %d", got.Size, anchor.Size)
		}
		return
	}
	defer l.Close()
	cp := l.Checkpoint()
	actx, acancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer acancel()
	i, next, err := l.Add(actx, []byte("an entry taken after the interrupted migration"))
	if err != nil {
		t.Fatalf("front end over a half-imported tree signed size %d, then Add: %v", cp.Size, err)
	}
	// The embedded log's checkpoint, already published and cosigned, and
	// the front end's: is one a prefix of the other?
	proof, err := src.ConsistencyProof(next.Size, anchor.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckTree(proof, anchor.Size, anchor.Hash, next.Size, next.Hash); err != nil {
		want, _ := src.Entry(i)
		t.Fatalf("FORK: the log's key signed size %d (entry %d = %q) and the embedded log's size %d (entry %d = %q), not consistent: %v; alarms: %v",
			next.Size, i, "an entry taken after the interrupted migration", anchor.Size, i, want, err, alarm.list())
	}
	t.Fatalf("front end signed a half-imported tree (size %d), expected a refusal", cp.Size)
}

// TestAttackIdentityHashSquat: anyone who reaches Trillian's
// gRPC adds, at an index far beyond the tree, a leaf whose identity hash is
// that of an entry about to be added (RFC 6962 leaf hash of its bytes).
// When the log hands that entry over at its index, Trillian answers
// FailedPrecondition "conflicting LeafIdentityHash" and stores nothing at
// that index; handOver treats that as "Trillian holds it already", so the
// tree has a hole it never fills: the log stops growing for good, every
// addition times out, and nothing is reported (no alarm, no error).
// Expected: an alarm (or at least OnError) naming the index Trillian
// refused, as for the other leaves added behind the log's back.
func TestAttackIdentityHashSquat(t *testing.T) {
	addr, dsn := env(t)
	var alarm, errors_ alarms
	opts := trillianlog.Options{TreeID: newTree(t, addr), Key: newKey(t), OnAlarm: alarm.raise, OnError: errors_.raise}
	l := openFrontEnd(t, addr, dsn, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, _, err := l.Add(ctx, []byte("before")); err != nil {
		t.Fatal(err)
	}

	victim := []byte("an entry the attacker knows will be added")
	h := tlog.RecordHash(victim)
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := trillian.NewTrillianLogClient(conn).AddSequencedLeaves(ctx, &trillian.AddSequencedLeavesRequest{LogId: opts.TreeID,
		Leaves: []*trillian.LogLeaf{{LeafIndex: 1 << 40, LeafIdentityHash: h[:], LeafValue: []byte("squatter")}}}); err != nil {
		t.Fatal(err)
	}

	actx, acancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer acancel()
	_, _, addErr := l.Add(actx, victim)
	if addErr == nil {
		return // fixed some other way: the entry was signed
	}
	actx2, acancel2 := context.WithTimeout(context.Background(), 3*time.Second)
	defer acancel2()
	_, _, innocentErr := l.Add(actx2, []byte("an innocent entry after it"))
	if len(alarm.list()) == 0 && len(errors_.list()) == 0 {
		t.Fatalf("log stalled silently: Add(victim) = %v, Add(innocent) = %v, no alarm and no error reported", addErr, innocentErr)
	}
	if !errorsIsAlarm(alarm.list()) {
		t.Fatalf("log stalled: Add(victim) = %v; no alarm, errors: %v", addErr, errors_.list())
	}
}

func errorsIsAlarm(list []error) bool {
	for _, err := range list {
		if errors.Is(err, trillianlog.ErrAlarm) {
			return true
		}
	}
	return false
}

// TestAttackTamperedTail: someone with write access to the
// database changes the bytes of a signed entry that is still in the last,
// partial entry bundle (SsmsQueue.Entry, leaf hash left as it was). The
// front ends serve the forged bytes in the entry bundle (partialBundle
// does not re-hash them), and a checkpointer that starts after the change
// (loadTail reads the same unchecked bytes) appends to them and stores
// the full bundle with the forged entry for good, with no alarm; the
// sequence row is then cleared, so the original is gone from the
// database. The threat model says every row is re-hashed before it is
// tiled, and that a tampered row is an alarm. Expected: an error or an
// alarm, and never a stored bundle whose entries do not hash to the
// level-0 tile.
func TestAttackTamperedTail(t *testing.T) {
	addr, dsn := env(t)
	db := openDB(t, dsn)
	var alarm alarms
	opts := trillianlog.Options{TreeID: newTree(t, addr), Key: newKey(t), OnAlarm: alarm.raise}
	l := openFrontEnd(t, addr, dsn, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := range 3 {
		if _, _, err := l.Add(ctx, fmt.Appendf(nil, "genuine %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`UPDATE SsmsQueue SET Entry = 'forged' WHERE TreeId = ? AND LeafIndex = 1`, opts.TreeID); err != nil {
		t.Fatal(err)
	}
	var failures []string
	if b, err := l.EntryBundle(0, 3); err == nil {
		if got := bundleEntries(t, b); string(got[1]) == "forged" {
			failures = append(failures, "EntryBundle(0, 3) serves the forged entry 1 without an error")
		}
	}
	l.Close()

	// A new checkpointer starts from the tampered tail and fills the bundle.
	l = openFrontEnd(t, addr, dsn, opts)
	for i := 3; i < 1<<translog.TileHeight; i++ {
		if _, _, err := l.Add(ctx, fmt.Appendf(nil, "genuine %d", i)); err != nil {
			if errors.Is(err, trillianlog.ErrAlarm) {
				break
			}
			t.Fatal(err)
		}
	}
	var data []byte
	err := db.QueryRow(`SELECT Data FROM SsmsTile WHERE TreeId = ? AND Level = -1 AND N = 0`, opts.TreeID).Scan(&data)
	if err == nil {
		tile, terr := l.Tile(0, 0, 1<<translog.TileHeight)
		if terr != nil {
			t.Fatal(terr)
		}
		for i, e := range bundleEntries(t, data) {
			if tlog.RecordHash(e) != tlog.Hash(tile[i*tlog.HashSize:(i+1)*tlog.HashSize]) {
				failures = append(failures, fmt.Sprintf("stored full entry bundle 0 holds at index %d %q, which is not the signed leaf; alarms: %v", i, e, alarm.list()))
			}
		}
	}
	if !errorsIsAlarm(alarm.list()) {
		failures = append(failures, "no alarm for a tampered entry")
	}
	for _, f := range failures {
		t.Error(f)
	}
}

func bundleEntries(t *testing.T, b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 2 {
			t.Fatalf("truncated bundle")
		}
		n := int(binary.BigEndian.Uint16(b))
		out, b = append(out, b[2:2+n]), b[2+n:]
	}
	return out
}

// TestAttackTamperedHashTile: a hash tile changed in the database is not
// served (a front end builds tiles from hashes checked against the signed
// root), and the front end raises an alarm.
func TestAttackTamperedHashTile(t *testing.T) {
	addr, dsn := env(t)
	db := openDB(t, dsn)
	opts := trillianlog.Options{TreeID: newTree(t, addr), Key: newKey(t)}
	l := openFrontEnd(t, addr, dsn, opts)
	addMany(t, l, 3)
	want, err := l.Tile(0, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if _, err := db.Exec(`UPDATE SsmsTile SET Data = CONCAT(UNHEX(REPEAT('00', 32)), SUBSTRING(Data, 33)) WHERE TreeId = ? AND Level = 0 AND N = 0`, opts.TreeID); err != nil {
		t.Fatal(err)
	}
	var alarm alarms
	opts.NoCheckpointer, opts.OnAlarm = true, alarm.raise
	l = openFrontEnd(t, addr, dsn, opts)
	if got, err := l.Tile(0, 0, 3); err == nil {
		t.Fatalf("a tile was served from a tampered database (the genuine one: %t)", string(got) == string(want))
	}
	if !errorsIsAlarm(alarm.list()) {
		t.Error("no alarm for a tampered hash tile")
	}
}
