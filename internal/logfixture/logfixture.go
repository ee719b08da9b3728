// Package logfixture is a project for tests: a real log (the embedded
// store behind its HTTP API on 127.0.0.1), maintainers alice, bob, carol
// and dave, rebuilders r1, r2 and r3 (r3 in no policy), and helpers that
// sign and log policies, releases and rebuild attestations of one product.
// Policies name no witnesses: tests of witness quorums use verifier's own
// fixture.
package logfixture

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/signer"
	"ssms.dev/ssms/translog"
)

// Origin is the fixture log's origin.
const Origin = "fixture.test"

// Fixture is one project and its log.
type Fixture struct {
	T       testing.TB
	Product string
	Keys    map[string]signer.Signer
	Store   *translog.Store
	Seq     *translog.Sequencer
	Client  *translog.Client
	URL     string
	// OnRequest, if set, sees every request to the log before it is served.
	OnRequest func(*http.Request)
	Pol       *policies.Policy   // version 1: alice, bob, carol; 2 to release
	PolEnv    *manifest.Envelope // Pol, signed by alice and bob, not logged
}

// New starts the log of product's project; it stops with the test.
func New(t testing.TB, product string) *Fixture {
	f := &Fixture{T: t, Product: product, Keys: map[string]signer.Signer{}}
	for _, n := range []string{"alice", "bob", "carol", "dave", "r1", "r2", "r3"} {
		priv, _ := signer.Generate(signer.Ed25519)
		f.Keys[n], _ = signer.NewKeySigner(priv)
	}
	dir := filepath.Join(t.TempDir(), "log")
	vkey, err := translog.Init(dir, Origin)
	if err != nil {
		t.Fatal(err)
	}
	if f.Store, err = translog.Open(dir); err != nil {
		t.Fatal(err)
	}
	f.Seq = translog.NewSequencer(f.Store, 1<<16, 4096)
	h := translog.NewServer(f.Store, f.Seq, translog.AdmitFunc(func([]byte) error { return nil })).Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.OnRequest != nil {
			f.OnRequest(r)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { srv.Close(); f.Seq.Close(); f.Store.Close() })
	f.URL = srv.URL
	f.Client, _ = translog.NewClient(srv.URL, vkey)
	f.Pol, f.PolEnv = f.Policy(1, []string{"alice", "bob", "carol"}, "alice", "bob")
	return f
}

// Policy is version v with maintainers names (2 to release, rotate or
// roll back), rebuilders r1 and r2 (2 needed), the log, no witnesses,
// signed by signers.
func (f *Fixture) Policy(v uint64, names []string, signers ...string) (*policies.Policy, *manifest.Envelope) {
	p := &policies.Policy{
		Version: v, Expires: manifest.FormatTime(time.Now().Add(24 * time.Hour)), Products: []string{f.Product},
		Maintainers: policies.Maintainers{Thresholds: policies.Thresholds{Release: 2, Rollback: 2, Policy: 2}},
		Rebuilders:  policies.Rebuilders{Threshold: 2},
		Logs:        []policies.Log{{Origin: Origin, VKey: f.Store.VerifierKey(), URL: f.URL}},
		Witnesses:   policies.Witnesses{VKeys: []string{}}, MaxCheckpointAge: "1h0m0s", MinLogAge: "0s",
	}
	for _, n := range names {
		p.Maintainers.Keys = append(p.Maintainers.Keys, policies.NewKey(n, f.Keys[n].Public()))
	}
	for _, n := range []string{"r1", "r2"} {
		p.Rebuilders.Keys = append(p.Rebuilders.Keys, policies.NewKey(n, f.Keys[n].Public()))
	}
	payload, err := p.Marshal()
	if err != nil {
		f.T.Fatal(err)
	}
	env := f.Sign(&manifest.Envelope{PayloadType: policies.PayloadType, Payload: payload}, signers...)
	parsed, err := policies.Parse(env)
	if err != nil {
		f.T.Fatal(err)
	}
	return parsed, env
}

// Sign adds the signatures of names to env.
func (f *Fixture) Sign(env *manifest.Envelope, names ...string) *manifest.Envelope {
	for _, n := range names {
		if err := env.Sign(context.Background(), f.Keys[n]); err != nil {
			f.T.Fatal(err)
		}
	}
	return env
}

// Release is a release statement of the product with one artifact, named
// after the product, whose bytes are artifact; signed by names.
func (f *Fixture) Release(typ, version string, seq uint64, artifact string, names ...string) *manifest.Envelope {
	st, err := manifest.NewRelease([]manifest.Subject{manifest.SizedSubject(f.Product, manifest.DigestBytes([]byte(artifact)), int64(len(artifact)))},
		manifest.ReleasePredicate{Product: f.Product, Version: version, Sequence: seq, Type: typ, Released: manifest.FormatTime(time.Now()),
			Source: manifest.Source{URI: "https://example.org/app.git", Commit: strings.Repeat("ab", 20)}, Policy: f.Pol.Digest()})
	if err != nil {
		f.T.Fatal(err)
	}
	payload, _ := manifest.MarshalRelease(st)
	return f.Sign(&manifest.Envelope{PayloadType: manifest.PayloadType, Payload: payload}, names...)
}

// Attest is by's attestation that rel was reproduced.
func (f *Fixture) Attest(rel *manifest.Envelope, by string) *manifest.Envelope {
	st, _ := manifest.ParseRelease(rel.Payload)
	_, payload, err := manifest.NewRebuild(st.Subject, manifest.RebuildPredicate{
		Release: policies.ReleaseRef(rel.Payload), Product: f.Product, Version: st.Predicate.Version, Builder: by,
		Source: st.Predicate.Source, Build: manifest.Recipe{Toolchain: "go1.26.8", Command: []string{"go", "build"}, Environment: map[string]string{}},
		Started: manifest.FormatTime(time.Now()), Finished: manifest.FormatTime(time.Now()), Outcome: manifest.OutcomeReproduced,
	})
	if err != nil {
		f.T.Fatal(err)
	}
	return f.Sign(&manifest.Envelope{PayloadType: manifest.PayloadType, Payload: payload}, by)
}

// Add logs env and returns the proof its publisher got.
func (f *Fixture) Add(env *manifest.Envelope) *translog.Proof {
	b, _ := env.Marshal()
	i, cp, err := f.Seq.Add(context.Background(), b)
	if err != nil {
		f.T.Fatal(err)
	}
	hs, err := f.Store.InclusionProof(i, cp.Size)
	if err != nil {
		f.T.Fatal(err)
	}
	return &translog.Proof{Index: i, Hashes: hs, Checkpoint: cp.Raw}
}
