package monitor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestIndexKeepsVerifiedFacts: releases that met their threshold, rebuild
// attestations, accepted rotations and alerts reach the index, each pass
// closed by its pass line; a release below its threshold does not.
func TestIndexKeepsVerifiedFacts(t *testing.T) {
	f := newFixture(t)
	f.withRebuilders(1, "r1")
	m := &Monitor{Log: f.client, Pinned: f.pol, Dir: t.TempDir()}
	rel := f.release("1.0.0", 1, "a", "alice", "bob")
	next, nextEnv := f.policy(2, "alice", "bob", "carol")
	f.sign(nextEnv, "alice", "bob")
	f.log(f.polEnv, rel, f.attest(rel, "r1", nil), f.release("1.1.0", 2, "b", "alice"), nextEnv)
	if _, err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	saved, err := ReadSaved(m.Dir)
	if err != nil || saved.Checkpoint == nil {
		t.Fatalf("saved: %v", err)
	}
	facts, err := ReadIndex(m.Dir, 0, saved.IndexSize)
	if err != nil || len(facts) != 1 {
		t.Fatalf("ReadIndex: %d passes, %v", len(facts), err)
	}
	got := facts[0]
	if got.Pass.From != 0 || got.Pass.To != 5 {
		t.Errorf("pass %+v", got.Pass)
	}
	if len(got.Releases) != 1 || got.Releases[0].Version != "1.0.0" || strings.Join(got.Releases[0].Signers, ",") != "alice,bob" || got.Releases[0].Need != 1 {
		t.Errorf("releases %+v", got.Releases)
	}
	if len(got.Rebuilds) != 1 || got.Rebuilds[0].Builder != "r1" || got.Rebuilds[0].Release != got.Releases[0].Ref {
		t.Errorf("rebuilds %+v", got.Rebuilds)
	}
	if len(got.Policies) != 1 || got.Policies[0].Version != 2 || got.Policies[0].Digest != next.Digest() || got.Policies[0].Index != 4 {
		t.Errorf("policies %+v", got.Policies)
	}
	if len(got.Findings) != 1 || got.Findings[0].Kind != KindBelowThreshold {
		t.Errorf("findings %+v", got.Findings)
	}
}

// TestIndexDropsUncommittedBytes: lines appended by a pass whose state was
// never saved (a crash between the two) are not read, and the next pass
// writes over them.
func TestIndexDropsUncommittedBytes(t *testing.T) {
	f := newFixture(t)
	m := &Monitor{Log: f.client, Pinned: f.pol, Dir: t.TempDir(), Now: func() time.Time { return time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC) }}
	f.log(f.polEnv, f.release("1.0.0", 1, "a", "alice", "bob"))
	if _, err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(m.Dir, IndexFile)
	fh, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	fh.WriteString(`{"release":{"index":7,"product":"evil"`) // torn by the crash
	fh.Close()
	saved, _ := ReadSaved(m.Dir)
	if facts, err := ReadIndex(m.Dir, 0, saved.IndexSize); err != nil || len(facts) != 1 {
		t.Fatalf("committed part: %d passes, %v", len(facts), err)
	}
	f.log(f.release("1.1.0", 2, "b", "alice", "bob"))
	if _, err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	saved, _ = ReadSaved(m.Dir)
	facts, err := ReadIndex(m.Dir, 0, saved.IndexSize)
	if err != nil || len(facts) != 2 || facts[1].Releases[0].Version != "1.1.0" {
		t.Fatalf("after the next pass: %+v, %v", facts, err)
	}
	if b, _ := os.ReadFile(path); strings.Contains(string(b), "evil") || int64(len(b)) != saved.IndexSize {
		t.Fatalf("uncommitted bytes survived: %d bytes, committed %d", len(b), saved.IndexSize)
	}
}

// TestIndexKeepsRepeatedAlertsOnce: an alert raised on every pass (a
// release short of its rebuilds) is committed once, not once a pass, and
// again when the alerts change.
func TestIndexKeepsRepeatedAlertsOnce(t *testing.T) {
	f := newFixture(t)
	f.withRebuilders(1, "r1")
	clock := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	m := &Monitor{Log: f.client, Pinned: f.pol, Dir: t.TempDir(), Now: func() time.Time { return clock }}
	rel := f.release("1.0.0", 1, "a", "alice", "bob")
	f.log(f.polEnv, rel)
	passes := func() int {
		saved, _ := ReadSaved(m.Dir)
		facts, err := ReadIndex(m.Dir, 0, saved.IndexSize)
		if err != nil {
			t.Fatal(err)
		}
		return len(facts)
	}
	m.Run(context.Background())
	clock = clock.Add(DefaultRebuildGrace)
	for range 3 {
		if p, _ := m.Run(context.Background()); kinds(p) != "rebuild-missing@1" {
			t.Fatalf("findings: %s", kinds(p))
		}
	}
	if n := passes(); n != 2 {
		t.Fatalf("%d passes committed, want 2 (the release, the first alert)", n)
	}
	f.log(f.attest(rel, "r1", nil))
	m.Run(context.Background())
	m.Run(context.Background())
	if n := passes(); n != 3 {
		t.Fatalf("%d passes committed, want 3 (and the rebuild)", n)
	}
}
