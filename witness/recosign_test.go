package witness

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ssms.dev/ssms/translog"
)

// TestAttackRecosignGrowth: an idle log re-cosigns its unchanged checkpoint
// every round (hourly, here every 5 ms) and at every restart. Each round
// must replace each witness's line, not add one: at 100 signatures the
// note no longer opens, Attach refuses every later round, and the
// checkpoint's freshness freezes.
func TestAttackRecosignGrowth(t *testing.T) {
	log := newLog(t, "log.example")
	base := time.Now().Add(-24 * time.Hour)
	var urls, vkeys []string
	var signs []*atomic.Int64
	for _, name := range []string{"w1", "w2", "w3"} {
		c, vkey := newCosigner(t, name)
		n := new(atomic.Int64)
		// Each cosignature a minute later than the one before, so freshness
		// visibly moves without waiting for the wall clock.
		c.now = func() time.Time { return base.Add(time.Duration(n.Add(1)) * time.Minute) }
		w, err := New(t.TempDir(), c, []string{log.vkey})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(w.Handler())
		t.Cleanup(srv.Close)
		urls, vkeys, signs = append(urls, srv.URL), append(vkeys, vkey), append(signs, n)
	}
	col, err := NewCollector(urls, vkeys)
	if err != nil {
		t.Fatal(err)
	}
	col.Timeout = 2 * time.Second
	var lastErr atomic.Value
	opts := translog.WitnessOptions{Cosigner: col, Recosign: 5 * time.Millisecond,
		OnError: func(err error) { lastErr.Store(err.Error()) }}
	store := log.store
	seq := translog.NewWitnessedSequencer(store, 16, 16, opts)
	if _, _, err := seq.Add(context.Background(), []byte("one entry")); err != nil {
		t.Fatal(err)
	}
	check := func(rounds int64) time.Time {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for signs[0].Load() < rounds || signs[2].Load() < rounds {
			if time.Now().After(deadline) {
				t.Fatalf("only %d rounds", signs[0].Load())
			}
			time.Sleep(5 * time.Millisecond)
		}
		raw := string(store.Checkpoint().Raw)
		for _, name := range []string{"w1", "w2", "w3"} {
			if n := strings.Count(raw, "— "+name+" "); n != 1 {
				t.Fatalf("after %d rounds: %d lines by %s, want 1 (last error: %v)", rounds, n, name, lastErr.Load())
			}
		}
		q, err := CheckQuorum([]byte(raw), vkeys, 3, time.Now(), 48*time.Hour)
		if err != nil {
			t.Fatalf("after %d rounds: %v (last error: %v)", rounds, err, lastErr.Load())
		}
		return q.Fresh
	}
	first := check(5)
	later := check(150) // past sumdb/note's 100 signatures if lines were appended
	if !later.After(first.Add(100 * time.Minute)) {
		t.Fatalf("freshness stuck: %v then %v", first, later)
	}
	// A restart: the checkpoint on disk is reopened and cosigned again.
	seq.Close()
	dir := filepath.Dir(store.CheckpointPath())
	if store, err = translog.Open(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	for range 3 {
		seq = translog.NewWitnessedSequencer(store, 16, 16, opts)
		time.Sleep(20 * time.Millisecond)
		seq.Close()
	}
	seq = translog.NewWitnessedSequencer(store, 16, 16, opts)
	defer seq.Close()
	if again := check(signs[0].Load() + 10); !again.After(later) {
		t.Fatalf("freshness stuck after restarts: %v then %v", later, again)
	}
}
