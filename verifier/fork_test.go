package verifier

import (
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"ssms.dev/ssms/manifest"
)

// grown is the scenario installed, then the log grown by a release of
// 1.1.0 (sequence 2) with its attestations, and a new head.
func grown(t *testing.T) (*scenario, *State, int64) {
	s := newScenario(t)
	st := installedState(t, s)
	old := s.log.Size()
	s.artifact = []byte("app version 1.1.0\n")
	s.rel = s.release(manifest.TypeRelease, "1.1.0", 2, s.artifact, "alice", "bob")
	s.relIdx = s.add(s.rel)
	s.first = s.checkpoint(s.log.Size(), all3(t0.Add(time.Hour)))
	s.atts = []int64{s.add(s.attest(s.rel, "r1", nil)), s.add(s.attest(s.rel, "r2", nil))}
	s.head = s.checkpoint(s.log.Size(), all3(s.now.Add(-time.Minute)))
	return s, st, old
}

func (s *scenario) update() *Bundle {
	b := s.bundle()
	b.FirstSeen.Consistency = s.consistency(int64(s.relIdx+1), s.log.Size())
	return b
}

func TestUpdateWithConsistencyProof(t *testing.T) {
	s, st, old := grown(t)
	b := s.update()
	b.Consistency = []Consistency{{Size: old, Hashes: s.consistency(old, s.log.Size())}}
	res, err := Verify(s.request(b, st))
	if err != nil {
		t.Fatal(err)
	}
	if res.Next.Products["app"].Sequence != 2 || res.Next.Logs["log.test"] != string(s.head) {
		t.Fatalf("next state %+v", res.Next.Products["app"])
	}
	if st.Products["app"].Sequence != 1 {
		t.Fatal("Verify changed the state it was given")
	}
	// The same proof given by the caller (an updater that asked the log).
	req := s.request(s.update(), st)
	req.Consistency = proofsFrom(s, old)
	if _, err := Verify(req); err != nil {
		t.Fatal(err)
	}
}

// TestConsistencyUnproven: without a proof from the client's checkpoint,
// the newer head is not taken on trust, and that is no fork alarm.
func TestConsistencyUnproven(t *testing.T) {
	s, st, _ := grown(t)
	err := refused(t, s.request(s.update(), st), ErrConsistency, "no consistency proof from size 4")
	if errors.Is(err, ErrFork) {
		t.Fatal("an unproven head raised a fork alarm")
	}
}

// TestAttackForkedLog: the client accepted a checkpoint of size 5 of one
// history; the log now shows it a tree of size 7 whose first 5 entries
// are another history, with its own consistency proof. The verifier
// refuses with evidence that anyone holding the log key can check.
func TestAttackForkedLog(t *testing.T) {
	s, st, _ := grown(t)
	other := tlog.Hash(sha256.Sum256([]byte("another history")))
	st.Logs["log.test"] = string(s.signTree(5, other, all3(t0)))
	b := s.update()
	b.Consistency = []Consistency{{Size: 5, Hashes: s.consistency(5, s.log.Size())}}
	err := refused(t, s.request(b, st), ErrFork, "has a prefix of size 5 with root")
	checkEvidence(t, s, err)
}

// TestForkUnprovableOffline: at a power-of-two size an RFC 6962 proof
// omits the old root, so a served proof cannot show which prefix the new
// tree has. The head is refused, without a fork alarm it could not back.
func TestForkUnprovableOffline(t *testing.T) {
	s, st, old := grown(t)
	st.Logs["log.test"] = string(s.signTree(old, tlog.Hash(sha256.Sum256([]byte("another history"))), all3(t0)))
	b := s.update()
	b.Consistency = []Consistency{{Size: old, Hashes: s.consistency(old, s.log.Size())}}
	err := refused(t, s.request(b, st), ErrConsistency, "proves nothing")
	if errors.Is(err, ErrFork) {
		t.Fatal("fork alarm without evidence")
	}
}

func TestAttackForkSameSize(t *testing.T) {
	s := newScenario(t)
	st := installedState(t, s)
	st.Logs["log.test"] = string(s.signTree(4, tlog.Hash(sha256.Sum256([]byte("another root"))), all3(t0)))
	err := refused(t, s.request(s.bundle(), st), ErrFork, "signed two different roots for size 4")
	checkEvidence(t, s, err)
}

func checkEvidence(t *testing.T, s *scenario, err error) {
	t.Helper()
	var fe *ForkError
	if !errors.As(err, &fe) {
		t.Fatalf("%v is not a *ForkError", err)
	}
	finding, cerr := fe.Evidence.Check(s.log.VKey)
	if cerr != nil {
		t.Fatalf("the evidence does not prove the fork: %v", cerr)
	}
	if finding != fe.Finding {
		t.Fatalf("evidence proves %q, the error says %q", finding, fe.Finding)
	}
}
