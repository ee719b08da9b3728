package trillianlog_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"ssms.dev/ssms/translog"
	"ssms.dev/ssms/translog/trillianlog"
)

// recordSequence writes entries into the log's sequence at indexes
// first, first+1, ..., as a checkpointer does before it hands them to
// Trillian.
func recordSequence(t *testing.T, dsn string, tree, first int64, entries ...[]byte) {
	db := openDB(t, dsn)
	for i, e := range entries {
		h := tlog.RecordHash(e)
		if _, err := db.Exec(`INSERT INTO SsmsQueue(TreeId, LeafHash, Entry, LeafIndex) VALUES (?, ?, ?, ?)`,
			tree, h[:], e, first+int64(i)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSequenceRecoversIndexesNotHandedOver: a checkpointer that died after
// recording indexes and before handing the entries to Trillian leaves them
// in the sequence only; the next one hands them over and signs them, at
// the indexes given, and an addition after them gets the next index.
func TestSequenceRecoversIndexesNotHandedOver(t *testing.T) {
	addr, dsn := env(t)
	opts := trillianlog.Options{TreeID: newTree(t, addr), Key: newKey(t)}
	openFrontEnd(t, addr, dsn, opts).Close() // creates the tables, signs the empty tree
	var entries [][]byte
	for i := range 5 {
		entries = append(entries, fmt.Appendf(nil, "given index %d", i))
	}
	recordSequence(t, dsn, opts.TreeID, 0, entries...)
	l := openFrontEnd(t, addr, dsn, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	i, cp, err := l.Add(ctx, []byte("after them"))
	if err != nil || i != 5 {
		t.Fatalf("Add after the recovered entries: index %d, %v; want 5", i, err)
	}
	for want, e := range entries {
		got, _, err := l.Add(ctx, e)
		if err != nil || got != int64(want) {
			t.Errorf("entry %d again: index %d, %v", want, got, err)
		}
	}
	b, err := l.EntryBundle(0, int(cp.Size))
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	for _, e := range append(entries, []byte("after them")) {
		want = append(want, byte(len(e)>>8), byte(len(e)))
		want = append(want, e...)
	}
	if string(b) != string(want) {
		t.Errorf("entry bundle:\n%q\nwant\n%q", b, want)
	}
}

// TestAlarmLeavesBehindTheLogsBack: leaves added to Trillian's tree by
// something other than the log are never signed.
func TestAlarmLeavesBehindTheLogsBack(t *testing.T) {
	addr, dsn := env(t)
	db := openDB(t, dsn)
	var a alarms
	opts := trillianlog.Options{TreeID: newTree(t, addr), Key: newKey(t), OnAlarm: a.raise}
	l := openFrontEnd(t, addr, dsn, opts)
	addDirectly(t, addr, opts.TreeID, 3)
	a.wait(t, "added to the tree behind the log's back")
	nothingSignedAfter(t, db, opts.TreeID, 0)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, _, err := l.Add(ctx, []byte("after the alarm")); err == nil {
		t.Error("Add after the alarm succeeded")
	}
}

// TestAlarmTrillianHoldsAnotherLeaf: Trillian holds, at an index the log
// gave to one entry, another leaf: the roots differ, nothing is signed.
func TestAlarmTrillianHoldsAnotherLeaf(t *testing.T) {
	addr, dsn := env(t)
	db := openDB(t, dsn)
	var a alarms
	opts := trillianlog.Options{TreeID: newTree(t, addr), Key: newKey(t)}
	openFrontEnd(t, addr, dsn, opts).Close()
	addDirectly(t, addr, opts.TreeID, 1) // "direct 0" at index 0
	recordSequence(t, dsn, opts.TreeID, 0, []byte("the log's entry 0"))
	opts.OnAlarm = a.raise
	openFrontEnd(t, addr, dsn, opts)
	a.wait(t, "is not Trillian's root")
	nothingSignedAfter(t, db, opts.TreeID, 0)
}

// TestAlarmSequenceTampered: an entry in the log's sequence whose bytes no
// longer match its recorded leaf hash is never handed over or signed.
func TestAlarmSequenceTampered(t *testing.T) {
	addr, dsn := env(t)
	db := openDB(t, dsn)
	var a alarms
	opts := trillianlog.Options{TreeID: newTree(t, addr), Key: newKey(t)}
	openFrontEnd(t, addr, dsn, opts).Close()
	recordSequence(t, dsn, opts.TreeID, 0, []byte("entry 0"))
	if _, err := db.Exec(`UPDATE SsmsQueue SET Entry = 'entry 1' WHERE TreeId = ?`, opts.TreeID); err != nil {
		t.Fatal(err)
	}
	opts.OnAlarm = a.raise
	openFrontEnd(t, addr, dsn, opts)
	a.wait(t, "whose leaf hash is not the one recorded")
	nothingSignedAfter(t, db, opts.TreeID, 0)
}

// TestLogTreeRefused: a front end refuses a Trillian LOG tree (it
// sequences entries itself, into a PREORDERED_LOG tree) with a hint.
func TestLogTreeRefused(t *testing.T) {
	addr, dsn := env(t)
	tree := newLogTree(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := trillianlog.Open(ctx, dsn, addr, trillianlog.Options{TreeID: tree, Key: newKey(t)})
	if err == nil {
		l.Close()
		t.Fatal("a LOG tree was accepted")
	}
	if want := "needs a PREORDERED_LOG tree"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
}

// TestLargeEntries: entries near the 64 KiB limit, more of them at once
// than one call to Trillian takes (gRPC's 4 MiB), are all logged.
func TestLargeEntries(t *testing.T) {
	addr, dsn := env(t)
	l := openFrontEnd(t, addr, dsn, trillianlog.Options{TreeID: newTree(t, addr), Key: newKey(t)})
	const n = 100
	errs := make(chan error, n)
	for i := range n {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			e := []byte(fmt.Sprintf("large entry %03d ", i) + strings.Repeat("x", translog.MaxEntrySize-20))
			_, _, err := l.Add(ctx, e)
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if size := l.Checkpoint().Size; size != n {
		t.Fatalf("checkpoint size %d, want %d", size, n)
	}
}
