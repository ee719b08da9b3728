package verifier

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"ssms.dev/ssms/internal/memlog"
	"ssms.dev/ssms/manifest"
)

// later is the grown scenario with a bundle made at its head and the log
// grown since by n entries, under a fresher checkpoint cosigned now.
func later(t *testing.T, n int) (s *scenario, st *State, b *Bundle, fresher []byte, headSize int64) {
	s, st, old := grown(t)
	b = s.update()
	b.Consistency = []Consistency{{Size: old, Hashes: s.consistency(old, s.log.Size())}}
	headSize = s.log.Size()
	for i := 0; i < n; i++ {
		s.add(s.release(manifest.TypeRelease, "9.9."+string(rune('0'+i)), uint64(10+i), []byte("other"), "alice"))
	}
	fresher = s.checkpoint(s.log.Size(), all3(s.now.Add(-time.Second)))
	return s, st, b, fresher, headSize
}

// TestFresherAnchorsAnOldBundle: a client that remembers a checkpoint newer
// than a mirror's bundle still installs from it, given a fresher checkpoint
// and the proof from the bundle's head, and remembers the fresher one.
func TestFresherAnchorsAnOldBundle(t *testing.T) {
	s, st, b, fresher, headSize := later(t, 3)
	st.Logs["log.test"] = string(fresher) // the updater saw it on an earlier check
	refused(t, s.request(b, st), ErrConsistency, "older than the one this client accepted")

	req := s.request(b, st)
	req.Fresher = &Fresher{Checkpoint: fresher, Proof: s.log.Consistency(headSize, s.log.Size())}
	res, err := Verify(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Next.Logs["log.test"] != string(fresher) || string(res.Head.Raw) != string(fresher) {
		t.Fatal("the state does not remember the fresher checkpoint")
	}
	if res.Next.Products["app"].Version != "1.1.0" {
		t.Fatalf("installed %+v", res.Next.Products["app"])
	}
}

// TestAttackFresherStale: the bundle's head is fresh but the checkpoint the
// updater fetched is not: the client's view of the log is what must be
// fresh, so a frozen log (or tile mirror) is caught.
func TestAttackFresherStale(t *testing.T) {
	s, st, b, _, headSize := later(t, 1)
	stale := s.checkpoint(s.log.Size(), all3(s.now.Add(-30*24*time.Hour)))
	req := s.request(b, st)
	req.Fresher = &Fresher{Checkpoint: stale, Proof: s.log.Consistency(headSize, s.log.Size())}
	req.Consistency = proofsFrom(s, 4)
	refused(t, req, ErrStale, "")
}

// TestAttackFresherFork: a fresher checkpoint of another history, with a
// proof that rebuilds it, is a fork with evidence; one with a proof that
// proves nothing is refused without an alarm.
func TestAttackFresherFork(t *testing.T) {
	s, st, b, _, headSize := later(t, 2)
	other := tlog.Hash(sha256.Sum256([]byte("another history")))
	forked := s.signTree(s.log.Size(), other, all3(s.now))
	req := s.request(b, st)
	req.Fresher = &Fresher{Checkpoint: forked, Proof: s.log.Consistency(headSize, s.log.Size())}
	refused(t, req, ErrConsistency, "proves nothing")

	// Same size as the head, another root: two trees of one size.
	same := s.signTree(headSize, other, all3(s.now))
	req.Fresher = &Fresher{Checkpoint: same}
	err := refused(t, req, ErrFork, "")
	checkEvidence(t, s, err)
}

// TestAttackFresherOtherKey: a fresher checkpoint signed by another key
// under the log's origin proves nothing about the log.
func TestAttackFresherOtherKey(t *testing.T) {
	s, st, b, _, headSize := later(t, 1)
	var seed [32]byte
	rand.Read(seed[:])
	impostor := memlog.New("log.test", seed)
	for i := int64(0); i < s.log.Size(); i++ {
		impostor.Add(s.log.Entry(i))
	}
	req := s.request(b, st)
	req.Fresher = &Fresher{Checkpoint: impostor.Checkpoint(s.log.Size(), s.ws, all3(s.now)), Proof: s.log.Consistency(headSize, s.log.Size())}
	refused(t, req, ErrUnknownLog, "fresher checkpoint")
}

// TestFresherOlderThanHead: a "fresher" checkpoint smaller than the head.
func TestFresherOlderThanHead(t *testing.T) {
	s, st, b, _, _ := later(t, 0)
	req := s.request(b, st)
	req.Fresher = &Fresher{Checkpoint: s.checkpoint(4, all3(s.now))}
	refused(t, req, ErrConsistency, "older than the bundle's head")
}

// TestFresherInstallOnly: the self-check takes no fresher checkpoint.
func TestFresherInstallOnly(t *testing.T) {
	s, st, b, fresher, _ := later(t, 0)
	req := s.request(b, st)
	req.Mode = ModeInstalled
	req.Fresher = &Fresher{Checkpoint: fresher}
	if _, err := Verify(req); err == nil || !strings.Contains(err.Error(), "install mode only") {
		t.Fatalf("installed mode with a fresher checkpoint: %v", err)
	}
}

func TestCheckCheckpoint(t *testing.T) {
	s := newScenario(t)
	if _, err := CheckCheckpoint(s.pol, s.head, s.now); err != nil {
		t.Fatal(err)
	}
	old := s.checkpoint(s.log.Size(), all3(s.now.Add(-30*24*time.Hour)))
	if _, err := CheckCheckpoint(s.pol, old, s.now); !errors.Is(err, ErrStale) {
		t.Fatalf("stale checkpoint: %v", err)
	}
	one := s.checkpoint(s.log.Size(), map[string]time.Time{"w1.test": s.now})
	if _, err := CheckCheckpoint(s.pol, one, s.now); !errors.Is(err, ErrQuorum) {
		t.Fatalf("one cosignature: %v", err)
	}
}

// TestCheckExtends: the updater's check of the log's checkpoint against
// the one remembered: extended, forked (with evidence), unproven.
func TestCheckExtends(t *testing.T) {
	s, _, _, fresher, headSize := later(t, 2)
	remembered := string(s.head)
	if err := CheckExtends(s.pol, remembered, fresher, s.log.Consistency(headSize, s.log.Size())); err != nil {
		t.Fatal(err)
	}
	if err := CheckExtends(s.pol, remembered, fresher, nil); !errors.Is(err, ErrConsistency) {
		t.Fatalf("no proof: %v", err)
	}
	forked := string(s.signTree(5, tlog.Hash(sha256.Sum256([]byte("another history"))), all3(t0)))
	err := CheckExtends(s.pol, forked, fresher, s.log.Consistency(5, s.log.Size()))
	if !errors.Is(err, ErrFork) {
		t.Fatalf("forked: %v", err)
	}
	checkEvidence(t, s, err)
}
