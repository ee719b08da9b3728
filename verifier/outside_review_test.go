package verifier

import (
	"crypto/rand"
	"testing"
	"time"

	"ssms.dev/ssms/internal/memlog"
	"ssms.dev/ssms/manifest"
)

// TestAttackFirstSeenBelowThreshold: whoever holds the threshold logs the
// payload early with one signature (or only an outsider's), then the
// approved release just before installing: the early copy does not date
// it, or minLogAge would be skipped.
func TestAttackFirstSeenBelowThreshold(t *testing.T) {
	for name, signers := range map[string][]string{"one maintainer": {"alice"}, "an outsider": {"mallory"}} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			s := &scenario{fixture: f}
			f.add(f.polEnv)
			early := f.add(f.release(manifest.TypeRelease, "1.0.0", 1, f.artifact, signers...))
			s.first = f.checkpoint(2, all3(t0))
			s.rel = f.release(manifest.TypeRelease, "1.0.0", 1, f.artifact, "alice", "bob")
			s.relIdx = f.add(s.rel)
			s.atts = []int64{f.add(f.attest(s.rel, "r1", nil)), f.add(f.attest(s.rel, "r2", nil))}
			s.head = f.checkpoint(f.log.Size(), all3(f.now.Add(-time.Minute)))
			b := &Bundle{
				MediaType: MediaType, Release: s.logged(s.relIdx, s.head), Policies: []Logged{s.logged(0, s.head)},
				Rebuilds:  []Logged{s.logged(s.atts[0], s.head), s.logged(s.atts[1], s.head)},
				FirstSeen: FirstSeen{Entry: f.log.Entry(early), Proof: f.proof(early, s.first), Consistency: f.consistency(2, f.log.Size())},
			}
			refused(t, s.request(b, nil), ErrThreshold, "firstSeen: entry 1 does not date the release")
		})
	}
}

// TestAttackSelfCheckWithoutInstall: the start-up self-check of a product
// the state never installed (another product's bundle and binary swapped
// in) is refused.
func TestAttackSelfCheckWithoutInstall(t *testing.T) {
	s := newScenario(t)
	req := s.request(s.bundle(), nil)
	req.Mode = ModeInstalled
	refused(t, req, ErrNotInstalled, "no install of app")
}

// TestAttackInstalledPolicyBelowPin: an install record under a policy older
// than the pinned one is refused cleanly, not with a panic.
func TestAttackInstalledPolicyBelowPin(t *testing.T) {
	s := newScenario(t)
	st := installedState(t, s)
	st.Products["app"].Policy.Version = 0
	req := s.request(s.bundle(), st)
	req.Mode = ModeInstalled
	refused(t, req, ErrPolicyChain, "before the pinned version 1")
}

// TestWitnessRotationKeepsOlderRelease: policy 2 replaces every witness;
// a release published under policy 1, whose first checkpoint only the old
// witnesses cosigned, still installs: it is dated by the witnesses of the
// policy it names.
func TestWitnessRotationKeepsOlderRelease(t *testing.T) {
	f := newFixture(t)
	s := &scenario{fixture: f}
	f.add(f.polEnv)
	s.rel = f.release(manifest.TypeRelease, "1.0.0", 1, f.artifact, "alice", "bob")
	s.relIdx = f.add(s.rel)
	s.first = f.checkpoint(2, all3(t0))
	old := f.ws
	f.ws = nil
	for _, n := range []string{"w1.test", "w2.test", "w3.test"} { // new keys, same names
		var seed [32]byte
		rand.Read(seed[:])
		f.ws = append(f.ws, memlog.NewWitness(n, seed))
	}
	_, v2 := f.policy(2, []string{"alice", "bob", "carol"}, "alice", "bob")
	f.add(v2)
	s.atts = []int64{f.add(f.attest(s.rel, "r1", nil)), f.add(f.attest(s.rel, "r2", nil))}
	s.head = f.checkpoint(f.log.Size(), all3(f.now.Add(-time.Minute)))
	b := s.bundle()
	b.Policies = append(b.Policies, s.logged(2, s.head))
	if _, err := Verify(s.request(b, nil)); err != nil {
		t.Fatalf("a release dated by the witnesses of its own policy: %v", err)
	}
	_ = old
}

// TestAttackLogKeyChangedSameOrigin: the policy names another key for the
// same origin; the remembered checkpoint is not "corrupt", and no hint
// to delete the state follows from it.
func TestAttackLogKeyChangedSameOrigin(t *testing.T) {
	s := newScenario(t)
	st := installedState(t, s)
	other := memlog.New("log.test", [32]byte{7})
	st.Logs["log.test"] = string(other.SignTree(4, s.log.Root(4), nil, nil))
	s.now = s.now.Add(time.Minute)
	refused(t, s.request(s.bundle(), st), ErrUnknownLog, "signed by another key than the policy's")
}

func TestStateAndModeFromCallers(t *testing.T) {
	s := newScenario(t)
	refused(t, s.request(s.bundle(), &State{Version: StateVersion}), ErrStateCorrupt, "logs and products are missing")
	req := s.request(s.bundle(), nil)
	req.Mode = Mode(9)
	if _, err := Verify(req); err == nil {
		t.Fatal("an unknown mode verified")
	}
}
