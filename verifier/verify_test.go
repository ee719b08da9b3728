package verifier

import (
	"testing"
	"time"
)

func TestVerify(t *testing.T) {
	s := newScenario(t)
	res, err := Verify(s.request(s.bundle(), nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Release.Predicate.Version; got != "1.0.0" {
		t.Errorf("version %s", got)
	}
	if len(res.Signers) != 3 || len(res.Rebuilders) != 2 || len(res.Witnesses) != 3 {
		t.Errorf("signers %v, rebuilders %v, witnesses %v", res.Signers, res.Rebuilders, res.Witnesses)
	}
	if !res.VisibleSince.Equal(t0) {
		t.Errorf("visible since %s, want %s", res.VisibleSince, t0)
	}
	if res.Index != 1 || res.Head.Size != 4 {
		t.Errorf("index %d, head size %d", res.Index, res.Head.Size)
	}
	in := res.Next.Products["app"]
	if in == nil || in.Sequence != 1 || in.Bundle != res.Bundle || res.Next.Logs["log.test"] != string(res.Head.Raw) {
		t.Fatalf("next state %+v", res.Next)
	}
	if res.Next.Policy.First.Version != 1 || res.Next.Policy.Latest.Digest != s.pol.Digest() {
		t.Fatalf("policy pin %+v", res.Next.Policy)
	}
	// The self-check of what was just installed passes, later and offline.
	req := s.request(s.bundle(), res.Next)
	req.Mode, req.Now = ModeInstalled, s.now.Add(400*24*time.Hour)
	if _, err := Verify(req); err != nil {
		t.Fatalf("installed mode, a year later: %v", err)
	}
}
