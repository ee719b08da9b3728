package explorer

// Bundles in failure reports that verify on their own but are not what
// this monitor verified: found by the outside review of the explorer.

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"testing"
	"time"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/signer"
	"ssms.dev/ssms/translog"
	"ssms.dev/ssms/updater/report"
	"ssms.dev/ssms/verifier"
	"ssms.dev/ssms/verifier/bundler"
)

// TestAttackReportBundleFromAnotherHistory: after the log forked, a
// client sends the bundle of the forked log's entry 1 (a different
// release than the entry 1 this monitor verified, from evil.example).
// It must not show "bundle: verifies": it knows entry 1 is another
// release, so the bundle is evidence of a fork, shown as an alarm.
func TestAttackReportBundleFromAnotherHistory(t *testing.T) {
	s := newScenario(t)
	s.forkNow()
	evil := s.release("1.0.0", 1, "https://evil.example/app.git", "alice", "bob")
	s.log(s.attest(evil, "r1", false), s.attest(evil, "r2", false))
	cp, err := s.client.Checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	hs, err := s.store.InclusionProof(1, cp.Size)
	if err != nil {
		t.Fatal(err)
	}
	first := &translog.Proof{Index: 1, Hashes: hs, Checkpoint: cp.Raw}
	b, err := (&bundler.Bundler{Log: s.client, Pinned: s.polEnv, IndexDir: t.TempDir()}).Make(context.Background(),
		bundler.Request{Product: "app", Version: "1.0.0", First: first})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := b.Marshal()
	r := report.New("app", "other", errors.New("source is evil.example"), time.Now())
	r.Evidence.Bundle = base64.StdEncoding.EncodeToString(raw)
	code, out := post(t, s.ex.Handler(), "192.0.2.9", marshal(t, r))
	if code != http.StatusCreated {
		t.Fatalf("POST %d %v", code, out)
	}
	f := facts(getJSON[reportView](t, s.ex.Handler(), out["api"]))["bundle"]
	t.Logf("bundle fact: %+v", f)
	if f.OK || !f.Alarm {
		t.Errorf("a bundle of entry 1 from a forked log (the monitor verified another release at entry 1) is shown as plainly verified, no alarm: %s", f.Detail)
	}
}

// TestAttackReportBundleLeavesRotationOut: the maintainers rotate
// the policy to drop bob and carol (compromised). bob and carol then sign
// and log a release under the old policy. The monitor's policy in force
// refuses it, but a report carrying its bundle with the policy chain cut
// before the rotation is shown as "verifies under the monitor's policy",
// because checkBundle verifies with no State: the chain only has to
// start at the pinned policy, not reach the monitor's policy in force.
func TestAttackReportBundleLeavesRotationOut(t *testing.T) {
	f := newFixture(t, 2)
	priv, _ := signer.Generate(signer.Ed25519)
	f.keys["dave"], _ = signer.NewKeySigner(priv)
	v2 := *f.pol
	v2.Version = 2
	v2.Maintainers.Keys = []policies.Key{policies.NewKey("alice", f.keys["alice"].Public()), policies.NewKey("dave", f.keys["dave"].Public())}
	payload, err := v2.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	v2env := f.sign(&manifest.Envelope{PayloadType: policies.PayloadType, Payload: payload}, "alice", "bob", "dave")
	f.log(f.polEnv, v2env)
	evil := f.release("6.6.6", 1, "https://evil.example/app.git", "bob", "carol")
	first := f.log(evil)
	a1, a2 := f.attest(evil, "r1", false), f.attest(evil, "r2", false)
	f.log(a1, a2)
	p := f.pass()
	t.Logf("monitor findings: %+v", p.Findings)
	ex, err := New(Config{Dir: f.mon.Dir, Pinned: f.pol, VKey: f.client.VKey})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("policies the explorer knows: %d; verified releases: %d", len(ex.m.policies), len(ex.m.releases))
	// The bundler refuses (it walks the chain to v2), so the bundle is
	// made by hand: the same proofs against the log's head, the policy
	// chain cut at v1.
	head, err := f.client.Checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	logged := func(i int64, env *manifest.Envelope) verifier.Logged {
		entry, _ := env.Marshal()
		hs, err := f.store.InclusionProof(i, head.Size)
		if err != nil {
			t.Fatal(err)
		}
		return verifier.Logged{Entry: entry, Proof: string((&translog.Proof{Index: i, Hashes: hs, Checkpoint: head.Raw}).Marshal())}
	}
	firstCP, _ := translog.ParseCheckpoint(bytes.SplitAfter(first.Checkpoint, []byte("\n\n"))[0][:len(bytes.SplitAfter(first.Checkpoint, []byte("\n\n"))[0])-1])
	cons, err := f.store.ConsistencyProof(firstCP.Size, head.Size)
	if err != nil {
		t.Fatal(err)
	}
	var consS []string
	for _, h := range cons {
		consS = append(consS, translog.EncodeHash(h))
	}
	evilBytes, _ := evil.Marshal()
	b := &verifier.Bundle{MediaType: verifier.MediaType,
		Release:   logged(2, evil),
		FirstSeen: verifier.FirstSeen{Entry: evilBytes, Proof: string(first.Marshal()), Consistency: consS},
		Policies:  []verifier.Logged{logged(0, f.polEnv)},
		Rebuilds:  []verifier.Logged{logged(3, a1), logged(4, a2)}, Consistency: []verifier.Consistency{}}
	raw, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	r := report.New("app", "threshold", errors.New("refused"), time.Now())
	r.Evidence.Bundle = base64.StdEncoding.EncodeToString(raw)
	h := ex.Handler()
	code, out := post(t, h, "192.0.2.9", marshal(t, r))
	if code != http.StatusCreated {
		t.Fatalf("POST %d %v", code, out)
	}
	fact := facts(getJSON[reportView](t, h, out["api"]))["bundle"]
	t.Logf("bundle fact: %+v", fact)
	if fact.OK {
		t.Errorf("a release signed by maintainers the monitor's policy in force (v2) removed is shown as verified: %s", fact.Detail)
	}
}
