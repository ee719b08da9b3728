package verifier

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"ssms.dev/ssms/internal/memlog"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/signer"
)

// t0 is when the fixture's release was first published.
var t0 = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// fixture is a log in memory with its keys, a pinned policy, a release of
// "app" with two rebuild attestations, and the bundle for it.
type fixture struct {
	t        testing.TB
	keys     map[string]signer.Signer
	log      *memlog.Log
	ws       []*memlog.Witness
	pol      *policies.Policy
	polEnv   *manifest.Envelope
	artifact []byte
	now      time.Time
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{t: t, keys: map[string]signer.Signer{}, artifact: []byte("app version 1.0.0\n")}
	for _, n := range []string{"alice", "bob", "carol", "dave", "mallory", "r1", "r2", "r3"} {
		priv, _ := signer.Generate(signer.Ed25519)
		f.keys[n], _ = signer.NewKeySigner(priv)
	}
	var seed [32]byte
	rand.Read(seed[:])
	f.log = memlog.New("log.test", seed)
	for _, n := range []string{"w1.test", "w2.test", "w3.test"} {
		rand.Read(seed[:])
		f.ws = append(f.ws, memlog.NewWitness(n, seed))
	}
	f.pol, f.polEnv = f.policy(1, []string{"alice", "bob", "carol"}, "alice", "bob")
	f.now = t0.Add(48 * time.Hour)
	return f
}

// policy is version v for app, with maintainers names (2 of them for a
// release, 3 for a rollback), rebuilders r1 and r2 (2 needed), the log,
// three witnesses (quorum 2), signed by signers.
func (f *fixture) policy(v uint64, names []string, signers ...string) (*policies.Policy, *manifest.Envelope) {
	p := &policies.Policy{
		Version: v, Expires: manifest.FormatTime(t0.Add(365 * 24 * time.Hour)), Products: []string{"app"},
		Maintainers: policies.Maintainers{Thresholds: policies.Thresholds{Release: 2, Rollback: 3, Policy: 2}},
		Rebuilders:  policies.Rebuilders{Threshold: 2},
		Logs:        []policies.Log{{Origin: "log.test", VKey: f.log.VKey}},
		Witnesses:   policies.Witnesses{VKeys: []string{f.ws[0].VKey, f.ws[1].VKey, f.ws[2].VKey}, Quorum: 2}, MaxCheckpointAge: "1h0m0s", MinLogAge: "24h0m0s",
	}
	for _, n := range names {
		p.Maintainers.Keys = append(p.Maintainers.Keys, policies.NewKey(n, f.keys[n].Public()))
	}
	for _, n := range []string{"r1", "r2"} {
		p.Rebuilders.Keys = append(p.Rebuilders.Keys, policies.NewKey(n, f.keys[n].Public()))
	}
	payload, err := p.Marshal()
	if err != nil {
		f.t.Fatal(err)
	}
	env := f.sign(&manifest.Envelope{PayloadType: policies.PayloadType, Payload: payload}, signers...)
	parsed, err := policies.Parse(env)
	if err != nil {
		f.t.Fatal(err)
	}
	return parsed, env
}

func (f *fixture) sign(env *manifest.Envelope, names ...string) *manifest.Envelope {
	for _, n := range names {
		if err := env.Sign(context.Background(), f.keys[n]); err != nil {
			f.t.Fatal(err)
		}
	}
	return env
}

// release is app version v with sequence seq, of artifact, signed by names.
func (f *fixture) release(typ, version string, seq uint64, artifact []byte, names ...string) *manifest.Envelope {
	d := sha256.Sum256(artifact)
	st, err := manifest.NewRelease([]manifest.Subject{manifest.SizedSubject("app", manifest.Digest{SHA256: fmt.Sprintf("%x", d)}, int64(len(artifact)))},
		manifest.ReleasePredicate{Product: "app", Version: version, Sequence: seq, Type: typ, Released: manifest.FormatTime(t0),
			Source: manifest.Source{URI: "https://example.org/app.git", Commit: strings.Repeat("ab", 20)}, Policy: f.pol.Digest()})
	if err != nil {
		f.t.Fatal(err)
	}
	payload, _ := manifest.MarshalRelease(st)
	return f.sign(&manifest.Envelope{PayloadType: manifest.PayloadType, Payload: payload}, names...)
}

// attest is by's attestation that rel rebuilds; edit may falsify it.
func (f *fixture) attest(rel *manifest.Envelope, by string, edit func(*manifest.RebuildPredicate, []manifest.Subject)) *manifest.Envelope {
	st, err := manifest.ParseRelease(rel.Payload)
	if err != nil {
		f.t.Fatal(err)
	}
	subjects := append([]manifest.Subject(nil), st.Subject...)
	pr := manifest.RebuildPredicate{
		Release: policies.ReleaseRef(rel.Payload), Product: st.Predicate.Product, Version: st.Predicate.Version, Builder: by,
		Source: st.Predicate.Source, Build: manifest.Recipe{Toolchain: "go1.26.8", Command: []string{"go", "build"}, Environment: map[string]string{}},
		Started: manifest.FormatTime(t0), Finished: manifest.FormatTime(t0.Add(time.Minute)), Outcome: manifest.OutcomeReproduced,
	}
	if edit != nil {
		edit(&pr, subjects)
	}
	_, payload, err := manifest.NewRebuild(subjects, pr)
	if err != nil {
		f.t.Fatal(err)
	}
	return f.sign(&manifest.Envelope{PayloadType: manifest.PayloadType, Payload: payload}, by)
}

// add logs an envelope (canonical bytes) and returns its index.
func (f *fixture) add(env *manifest.Envelope) int64 {
	b, err := env.Marshal()
	if err != nil {
		f.t.Fatal(err)
	}
	return f.log.Add(b)
}

// checkpoint signs the tree of size n, cosigned by each witness at the
// time given.
func (f *fixture) checkpoint(n int64, times map[string]time.Time) []byte {
	return f.log.Checkpoint(n, f.ws, times)
}

func (f *fixture) signTree(n int64, root tlog.Hash, times map[string]time.Time) []byte {
	return f.log.SignTree(n, root, f.ws, times)
}

// all3 has every witness cosign at t.
func all3(t time.Time) map[string]time.Time {
	return map[string]time.Time{"w1.test": t, "w2.test": t, "w3.test": t}
}

func (f *fixture) proof(i int64, cp []byte) string { return f.log.Proof(i, cp) }

func (f *fixture) logged(i int64, cp []byte) Logged {
	return Logged{Entry: f.log.Entry(i), Proof: f.log.Proof(i, cp)}
}

// consistency is the proof from size m to size n.
func (f *fixture) consistency(m, n int64) []string { return memlog.Encode(f.log.Consistency(m, n)) }

// scenario is the standard history: policy v1 (entry 0), the release of
// app 1.0.0 (entry 1) published at t0 under checkpoint first (size 2,
// cosigned by all three witnesses at t0), r1's and r2's attestations
// (entries 2 and 3), and the head (size 4) cosigned by all three a minute
// before now.
type scenario struct {
	*fixture
	rel         *manifest.Envelope
	first, head []byte
	relIdx      int64
	atts        []int64
}

func newScenario(t testing.TB) *scenario {
	f := newFixture(t)
	s := &scenario{fixture: f}
	f.add(f.polEnv)
	s.rel = f.release(manifest.TypeRelease, "1.0.0", 1, f.artifact, "alice", "bob", "carol")
	s.relIdx = f.add(s.rel)
	s.first = f.checkpoint(2, all3(t0))
	s.atts = []int64{f.add(f.attest(s.rel, "r1", nil)), f.add(f.attest(s.rel, "r2", nil))}
	s.head = f.checkpoint(f.log.Size(), all3(f.now.Add(-time.Minute)))
	return s
}

// bundle is the scenario's bundle, against head.
func (s *scenario) bundle() *Bundle {
	b := &Bundle{
		MediaType: MediaType,
		Release:   s.logged(s.relIdx, s.head),
		FirstSeen: FirstSeen{Entry: s.log.Entry(s.relIdx), Proof: s.proof(s.relIdx, s.first), Consistency: s.consistency(2, s.log.Size())},
		Policies:  []Logged{s.logged(0, s.head)},
		Rebuilds:  []Logged{},
	}
	for _, i := range s.atts {
		b.Rebuilds = append(b.Rebuilds, s.logged(i, s.head))
	}
	return b
}

// request verifies b for app with the fixture's artifact, at now.
func (s *scenario) request(b *Bundle, st *State) Request {
	raw, err := b.Marshal()
	if err != nil {
		s.t.Fatal(err)
	}
	d := sha256.Sum256(s.artifact)
	pinned, err := Pin(s.polEnv)
	if err != nil {
		s.t.Fatal(err)
	}
	return Request{
		Bundle: raw, Product: "app", Pinned: pinned, State: st, Now: s.now, Mode: ModeInstall,
		Artifacts: []Artifact{{Name: "app", Digest: manifest.Digest{SHA256: fmt.Sprintf("%x", d)}, Size: int64(len(s.artifact))}},
	}
}

// proofsFrom is the consistency proof from size m to the scenario's log.
func proofsFrom(s *scenario, m int64) map[int64][]tlog.Hash {
	return map[int64][]tlog.Hash{m: s.log.Consistency(m, s.log.Size())}
}
