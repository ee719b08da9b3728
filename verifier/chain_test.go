package verifier

import (
	"testing"
	"time"

	"ssms.dev/ssms/manifest"
)

// rotated is a history with policy v1 and v2 (made by rotate), logged in
// that order, then a release signed by signers, attested by r1 and r2.
func rotated(t *testing.T, rotate func(f *fixture) *manifest.Envelope, signers ...string) *scenario {
	f := newFixture(t)
	s := &scenario{fixture: f}
	f.add(f.polEnv)
	f.add(rotate(f))
	s.rel = f.release(manifest.TypeRelease, "1.0.0", 1, f.artifact, signers...)
	s.relIdx = f.add(s.rel)
	s.first = f.checkpoint(3, all3(t0))
	s.atts = []int64{f.add(f.attest(s.rel, "r1", nil)), f.add(f.attest(s.rel, "r2", nil))}
	s.head = f.checkpoint(f.log.Size(), all3(f.now.Add(-time.Minute)))
	return s
}

func (s *scenario) chainBundle() *Bundle {
	b := s.bundle()
	b.FirstSeen.Consistency = s.consistency(3, s.log.Size())
	b.Policies = append(b.Policies, s.logged(1, s.head))
	return b
}

// v2 hands over from alice, bob, carol to alice, bob, dave (carol revoked).
func v2(f *fixture) *manifest.Envelope {
	_, env := f.policy(2, []string{"alice", "bob", "dave"}, "alice", "bob")
	return env
}

func TestRotation(t *testing.T) {
	s := rotated(t, v2, "alice", "dave")
	res, err := Verify(s.request(s.chainBundle(), nil))
	if err != nil {
		t.Fatal(err)
	}
	if res.Policy.Version != 2 || res.Next.Policy.Latest.Version != 2 || res.Next.Policy.First.Version != 1 {
		t.Fatalf("policy in force %d, pin %+v", res.Policy.Version, res.Next.Policy)
	}
}

// TestAttackRevokedKey: carol, removed by version 2, signs with alice.
func TestAttackRevokedKey(t *testing.T) {
	s := rotated(t, v2, "alice", "carol")
	refused(t, s.request(s.chainBundle(), nil), ErrThreshold, "1 of 2 required release signatures")
}

// TestAttackRotationWithoutOldThreshold: version 2 signed by its new
// maintainers alone.
func TestAttackRotationWithoutOldThreshold(t *testing.T) {
	s := rotated(t, func(f *fixture) *manifest.Envelope {
		_, env := f.policy(2, []string{"dave", "mallory", "r3"}, "dave", "mallory")
		return env
	}, "dave", "mallory")
	refused(t, s.request(s.chainBundle(), nil), ErrPolicyChain, "maintainers of version 1): 0 of 2")
}

// TestAttackTruncatedChain: a client that accepted version 2 is offered a
// bundle whose chain stops at version 1 (where carol still counts).
func TestAttackTruncatedChain(t *testing.T) {
	s := rotated(t, v2, "alice", "bob")
	res, err := Verify(s.request(s.chainBundle(), nil))
	if err != nil {
		t.Fatal(err)
	}
	b := s.bundle() // policies: version 1 only
	b.FirstSeen.Consistency = s.consistency(3, s.log.Size())
	res.Next.Products = map[string]*Installed{}
	refused(t, s.request(b, res.Next), ErrPolicyChain, "the chain ends at version 1, but this client accepted before version 2: a truncated history")
}

// TestAttackReplacedChain: another version 2, also validly signed by the
// version 1 maintainers (a fork of the policy history), is refused by a
// client that accepted the first one.
func TestAttackReplacedChain(t *testing.T) {
	s := rotated(t, v2, "alice", "bob")
	res, err := Verify(s.request(s.chainBundle(), nil))
	if err != nil {
		t.Fatal(err)
	}
	_, other := s.policy(2, []string{"alice", "bob", "mallory"}, "alice", "bob")
	i := s.add(other)
	s.head = s.checkpoint(s.log.Size(), all3(s.now.Add(-time.Minute)))
	b := s.bundle()
	b.FirstSeen.Consistency = s.consistency(3, s.log.Size())
	b.Policies = append(b.Policies, s.logged(i, s.head))
	res.Next.Products = map[string]*Installed{}
	req := s.request(b, res.Next)
	req.Consistency = proofsFrom(s, res.Head.Size)
	refused(t, req, ErrPolicyChain, "a replaced history")
}

// TestAttackChainWithoutPinned: a bundle whose policies never include the
// policy this client pins.
func TestAttackChainWithoutPinned(t *testing.T) {
	s := rotated(t, v2, "alice", "bob")
	b := s.chainBundle()
	b.Policies = b.Policies[1:]
	refused(t, s.request(b, nil), ErrPolicyChain, "do not include the pinned policy")
}

// TestAttackExpiredPolicy: the policy in force expired; installing is
// refused, the self-check of what is installed still passes.
func TestAttackExpiredPolicy(t *testing.T) {
	s := newScenario(t)
	st := installedState(t, s)
	s.now = t0.Add(400 * 24 * time.Hour)
	req := s.request(s.headWith(all3(s.now.Add(-time.Minute))), nil)
	refused(t, req, ErrPolicyChain, "expired")
	s.head = s.checkpoint(4, all3(t0.Add(48*time.Hour-time.Minute)))
	req = s.request(s.bundle(), st)
	req.Mode = ModeInstalled
	if _, err := Verify(req); err != nil {
		t.Fatalf("self-check after expiry: %v", err)
	}
}

// TestSelfCheckAfterLaterPolicy: a client installed app under policy 1,
// then accepted policy 2 (for another product, say); the installed app's
// bundle, whose chain stops at 1, still passes its start-up self-check.
func TestSelfCheckAfterLaterPolicy(t *testing.T) {
	s := newScenario(t)
	st := installedState(t, s)
	_, v2env := s.policy(2, []string{"alice", "bob", "dave"}, "alice", "bob")
	v2, _ := Pin(v2env)
	st.Policy.Latest = PolicyRef{Version: 2, Digest: v2.Digest()}
	req := s.request(s.bundle(), st)
	req.Mode = ModeInstalled
	if _, err := Verify(req); err != nil {
		t.Fatalf("self-check: %v", err)
	}
	req.Mode = ModeInstall
	refused(t, req, ErrPolicyChain, "truncated history")
}
