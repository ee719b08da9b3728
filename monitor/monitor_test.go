package monitor

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/signer"
	"ssms.dev/ssms/translog"
)

type fixture struct {
	t        testing.TB
	keys     map[string]signer.Signer
	pol      *policies.Policy
	polEnv   *manifest.Envelope
	logDir   string
	store    *translog.Store
	seq      *translog.Sequencer
	client   *translog.Client
	srvStop  func()
	wrap     func(http.Handler) http.Handler // a hostile log's front, if set
	keyLimit int                             // serveAdmitting's per-key limit, if not 0
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{t: t, keys: map[string]signer.Signer{}}
	for _, n := range []string{"alice", "bob", "carol", "dave"} {
		priv, _ := signer.Generate(signer.Ed25519)
		f.keys[n], _ = signer.NewKeySigner(priv)
	}
	f.pol, f.polEnv = f.policy(1, "alice", "bob", "carol")
	f.sign(f.polEnv, "alice", "bob")
	f.logDir = filepath.Join(t.TempDir(), "log")
	vkey, err := translog.Init(f.logDir, "monitor.test")
	if err != nil {
		t.Fatal(err)
	}
	f.serve(vkey)
	return f
}

func (f *fixture) serve(vkey string) {
	var err error
	if f.store, err = translog.Open(f.logDir); err != nil {
		f.t.Fatal(err)
	}
	f.seq = translog.NewSequencer(f.store, 1<<16, 4096)
	h := translog.NewServer(f.store, f.seq, translog.AdmitFunc(func([]byte) error { return nil })).Handler()
	if f.wrap != nil {
		h = f.wrap(h)
	}
	srv := httptest.NewServer(h)
	f.srvStop = func() { srv.Close(); f.seq.Close(); f.store.Close() }
	f.t.Cleanup(f.srvStop)
	f.client, _ = translog.NewClient(srv.URL, vkey)
}

func (f *fixture) policy(version uint64, names ...string) (*policies.Policy, *manifest.Envelope) {
	p := &policies.Policy{
		Version: version, Expires: manifest.FormatTime(time.Now().Add(24 * time.Hour)), Products: []string{"app"},
		Maintainers: policies.Maintainers{Thresholds: policies.Thresholds{Release: 2, Rollback: 2, Policy: 2}},
		Rebuilders:  policies.Rebuilders{Keys: []policies.Key{}}, Logs: []policies.Log{},
		Witnesses: policies.Witnesses{VKeys: []string{}}, MaxCheckpointAge: "168h0m0s", MinLogAge: "0s",
	}
	for _, n := range names {
		p.Maintainers.Keys = append(p.Maintainers.Keys, policies.NewKey(n, f.keys[n].Public()))
	}
	payload, err := p.Marshal()
	if err != nil {
		f.t.Fatal(err)
	}
	return p, &manifest.Envelope{PayloadType: policies.PayloadType, Payload: payload}
}

func (f *fixture) sign(env *manifest.Envelope, names ...string) *manifest.Envelope {
	for _, n := range names {
		if err := env.Sign(context.Background(), f.keys[n]); err != nil {
			f.t.Fatal(err)
		}
	}
	return env
}

func (f *fixture) release(version string, seq uint64, artifact string, names ...string) *manifest.Envelope {
	st, err := manifest.NewRelease([]manifest.Subject{{Name: "app", Digest: manifest.Digest{SHA256: fmt.Sprintf("%064x", len(artifact)*7919+int(seq))}}},
		manifest.ReleasePredicate{Product: "app", Version: version, Sequence: seq, Type: manifest.TypeRelease, Released: "2026-11-22T00:00:00Z",
			Source: manifest.Source{URI: "https://x.org/app.git", Commit: strings.Repeat("a", 40)}, Policy: f.pol.Digest()})
	if err != nil {
		f.t.Fatal(err)
	}
	payload, _ := manifest.MarshalRelease(st)
	return f.sign(&manifest.Envelope{PayloadType: manifest.PayloadType, Payload: payload}, names...)
}

func (f *fixture) log(envs ...*manifest.Envelope) {
	for _, e := range envs {
		b, _ := e.Marshal()
		if _, _, err := f.seq.Add(context.Background(), b); err != nil {
			f.t.Fatal(err)
		}
	}
}

func kinds(p *Pass) string {
	var out []string
	for _, f := range p.Findings {
		out = append(out, fmt.Sprintf("%s@%d", f.Kind, f.Index))
	}
	return strings.Join(out, " ")
}

func TestMonitorFindings(t *testing.T) {
	f := newFixture(t)
	m := &Monitor{Log: f.client, Pinned: f.pol, Dir: t.TempDir()}
	ctx := context.Background()
	f.log(f.polEnv, f.release("1.0.0", 1, "a", "alice", "bob"), f.release("1.1.0", 2, "b", "bob", "carol"))
	pass, err := m.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pass.Findings) != 0 || pass.Releases != 2 || pass.To != 3 {
		t.Fatalf("clean log: %s (%d releases)", kinds(pass), pass.Releases)
	}
	f.log(
		f.release("1.2.0", 3, "c", "alice"),                 // 3: one signature
		f.release("1.1.0", 4, "evil", "alice", "carol"),     // 4: 1.1.0 again, other content
		f.release("1.3.0", 2, "d", "alice", "bob"),          // 5: sequence 2 again, other content
		f.release("1.4.0", 9, "e", "alice", "bob"),          // 6: gap
		f.release("1.0.0", 1, "a", "alice", "bob", "carol"), // 7: release 1 with one more signature: fine
	)
	f.log(&manifest.Envelope{PayloadType: "application/x-other", Payload: []byte("?"), Signatures: []manifest.Signature{{Sig: []byte{1}}}}) // 8
	if pass, err = m.Run(ctx); err != nil {
		t.Fatal(err)
	}
	want := "below-threshold@3 equivocation@4 sequence@4 equivocation@5 sequence@5 sequence@6 unknown-payload@8"
	if got := kinds(pass); got != want {
		t.Fatalf("findings:\n got %s\nwant %s", got, want)
	}
	// Nothing new: nothing to say, and the state was kept.
	if pass, err = m.Run(ctx); err != nil || len(pass.Findings) != 0 || pass.From != 9 {
		t.Fatalf("second pass: %v %s from %d", err, kinds(pass), pass.From)
	}
}

func TestMonitorFollowsRotations(t *testing.T) {
	f := newFixture(t)
	m := &Monitor{Log: f.client, Pinned: f.pol, Dir: t.TempDir()}
	_, v2 := f.policy(2, "carol", "dave")
	_, bad := f.policy(2, "dave", "carol")
	f.log(
		f.sign(bad, "dave", "carol"),                // 0: one old maintainer of the two needed
		f.sign(v2, "alice", "bob", "carol", "dave"), // 1: valid rotation
		f.release("1.0.0", 1, "a", "carol", "dave"), // 2: signed by the new maintainers
		f.release("1.1.0", 2, "b", "alice", "bob"),  // 3: by the old ones only
	)
	pass, err := m.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := kinds(pass); got != "bad-rotation@0 below-threshold@3" {
		t.Fatalf("findings: %s", got)
	}
	// A new monitor process replays the accepted rotation from its state.
	f.log(f.release("1.2.0", 2, "c", "carol", "dave")) // sequence 2 had no valid release yet
	m2 := &Monitor{Log: f.client, Pinned: f.pol, Dir: m.Dir}
	if pass, err = m2.Run(context.Background()); err != nil || len(pass.Findings) != 0 {
		t.Fatalf("after restart: %v %s", err, kinds(pass))
	}
}

// TestMonitorCatchesAFork replaces the log with another history signed by
// the same key: the monitor refuses to advance and writes evidence.
func TestMonitorCatchesAFork(t *testing.T) {
	f := newFixture(t)
	m := &Monitor{Log: f.client, Pinned: f.pol, Dir: t.TempDir()}
	f.log(f.polEnv, f.release("1.0.0", 1, "a", "alice", "bob"))
	if _, err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.srvStop()
	key, _ := os.ReadFile(filepath.Join(f.logDir, "log.key"))
	vkey, _ := os.ReadFile(filepath.Join(f.logDir, "log.vkey"))
	os.RemoveAll(f.logDir)
	translog.Init(f.logDir, "monitor.test")
	os.WriteFile(filepath.Join(f.logDir, "log.key"), key, 0o600)
	os.WriteFile(filepath.Join(f.logDir, "log.vkey"), vkey, 0o644)
	os.Remove(filepath.Join(f.logDir, "checkpoint"))
	f.serve(strings.TrimSpace(string(vkey)))
	f.log(f.polEnv, f.release("1.0.0", 1, "evil", "alice", "bob"), f.release("1.0.1", 2, "x", "alice", "bob"))
	m.Log = f.client
	pass, err := m.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(pass.Findings) != 1 || pass.Findings[0].Kind != KindInconsistentLog || pass.Findings[0].Evidence == "" {
		t.Fatalf("findings: %s", kinds(pass))
	}
	b, _ := os.ReadFile(pass.Findings[0].Evidence)
	e, err := translog.ParseEvidence(b)
	if err != nil {
		t.Fatal(err)
	}
	what, err := e.Check(f.client.VKey)
	if err != nil || !strings.Contains(what, "forked") {
		t.Fatalf("evidence: %q %v", what, err)
	}
	// The state did not move: the next pass says the same.
	if pass, _ = m.Run(context.Background()); len(pass.Findings) != 1 {
		t.Fatalf("state advanced past an inconsistent log: %s", kinds(pass))
	}
}

// withRebuilders replaces the fixture's policy with one that also lists
// rebuilders, need of them per release.
func (f *fixture) withRebuilders(need int, names ...string) {
	p, _ := f.policy(1, "alice", "bob", "carol")
	for _, n := range names {
		priv, _ := signer.Generate(signer.Ed25519)
		f.keys[n], _ = signer.NewKeySigner(priv)
		p.Rebuilders.Keys = append(p.Rebuilders.Keys, policies.NewKey(n, f.keys[n].Public()))
	}
	p.Rebuilders.Threshold = need
	payload, err := p.Marshal()
	if err != nil {
		f.t.Fatal(err)
	}
	if f.pol, err = policies.ParsePolicy(payload); err != nil {
		f.t.Fatal(err)
	}
	f.polEnv = f.sign(&manifest.Envelope{PayloadType: policies.PayloadType, Payload: payload}, "alice", "bob")
}

// attest is by's rebuild attestation of rel; edit may falsify it.
func (f *fixture) attest(rel *manifest.Envelope, by string, edit func(*manifest.RebuildPredicate, []manifest.Subject)) *manifest.Envelope {
	st, err := manifest.ParseRelease(rel.Payload)
	if err != nil {
		f.t.Fatal(err)
	}
	subjects := append([]manifest.Subject(nil), st.Subject...)
	pr := manifest.RebuildPredicate{
		Release: policies.ReleaseRef(rel.Payload), Product: st.Predicate.Product, Version: st.Predicate.Version, Builder: by,
		Source: st.Predicate.Source, Build: manifest.Recipe{Toolchain: "go1.26.8", Command: []string{"go", "build"}, Environment: map[string]string{}},
		Started: "2026-11-22T00:00:00Z", Finished: "2026-11-22T00:01:00Z", Outcome: manifest.OutcomeReproduced,
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

func TestMonitorRebuildThreshold(t *testing.T) {
	f := newFixture(t)
	f.withRebuilders(2, "r1", "r2", "r3")
	clock := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	m := &Monitor{Log: f.client, Pinned: f.pol, Dir: t.TempDir(), Now: func() time.Time { return clock }}
	ctx := context.Background()
	rel1, rel2 := f.release("1.0.0", 1, "a", "alice", "bob"), f.release("1.1.0", 2, "b", "alice", "bob")
	f.log(f.polEnv, rel1, rel2, // 0, 1, 2
		f.attest(rel1, "r1", nil), f.attest(rel1, "r2", nil), // 3, 4: 1.0.0 has its two
		f.attest(rel2, "r1", nil), // 5
		f.attest(rel2, "r1", func(p *manifest.RebuildPredicate, _ []manifest.Subject) { p.Finished = "2026-11-22T00:09:00Z" }),          // 6: r1 again
		f.attest(rel2, "r2", func(_ *manifest.RebuildPredicate, s []manifest.Subject) { s[0].Digest.SHA256 = strings.Repeat("e", 64) }), // 7
		f.attest(rel2, "dave", nil), // 8: not a rebuilder
		f.attest(rel2, "r3", func(p *manifest.RebuildPredicate, _ []manifest.Subject) { p.Release = policies.ReleaseRef([]byte("?")) }), // 9
	)
	pass, err := m.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := kinds(pass), "bad-attestation@7 bad-attestation@8 bad-attestation@9"; got != want {
		for _, x := range pass.Findings {
			t.Log(x)
		}
		t.Fatalf("findings:\n got %s\nwant %s", got, want)
	}
	clock = clock.Add(DefaultRebuildGrace - time.Minute)
	if pass, err = m.Run(ctx); err != nil || len(pass.Findings) != 0 {
		t.Fatalf("within the grace period: %v %s", err, kinds(pass))
	}
	clock = clock.Add(time.Minute)
	for range 2 { // the alarm holds until the threshold is met
		if pass, err = m.Run(ctx); err != nil || kinds(pass) != "rebuild-missing@2" {
			t.Fatalf("after the grace period: %v %s", err, kinds(pass))
		}
		if msg := pass.Findings[0].Message; !strings.Contains(msg, "1.1.0 has 1 of 2") || !strings.Contains(msg, "rebuilt by r1") {
			t.Fatalf("message: %s", msg)
		}
	}
	f.log(f.attest(rel2, "r3", nil))
	if pass, err = m.Run(ctx); err != nil || len(pass.Findings) != 0 {
		t.Fatalf("after the second rebuild: %v %s", err, kinds(pass))
	}
}
