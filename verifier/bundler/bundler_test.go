package bundler

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/signer"
	"ssms.dev/ssms/translog"
	"ssms.dev/ssms/verifier"
)

// logFixture is a real log (the embedded store behind its HTTP API) and
// the keys of a project: maintainers alice, bob, carol, dave, rebuilders
// r1, r2, r3 (r3 in no policy).
type logFixture struct {
	t       testing.TB
	keys    map[string]signer.Signer
	store   *translog.Store
	seq     *translog.Sequencer
	client  *translog.Client
	bundles atomic.Int64 // entry bundles served
	pol     *policies.Policy
	polEnv  *manifest.Envelope
}

func newLog(t testing.TB) *logFixture {
	f := &logFixture{t: t, keys: map[string]signer.Signer{}}
	for _, n := range []string{"alice", "bob", "carol", "dave", "r1", "r2", "r3"} {
		priv, _ := signer.Generate(signer.Ed25519)
		f.keys[n], _ = signer.NewKeySigner(priv)
	}
	dir := filepath.Join(t.TempDir(), "log")
	vkey, err := translog.Init(dir, "bundler.test")
	if err != nil {
		t.Fatal(err)
	}
	if f.store, err = translog.Open(dir); err != nil {
		t.Fatal(err)
	}
	f.seq = translog.NewSequencer(f.store, 1<<16, 4096)
	h := translog.NewServer(f.store, f.seq, translog.AdmitFunc(func([]byte) error { return nil })).Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/tile/entries/") {
			f.bundles.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { srv.Close(); f.seq.Close(); f.store.Close() })
	f.client, _ = translog.NewClient(srv.URL, vkey)
	f.pol, f.polEnv = f.policy(1, []string{"alice", "bob", "carol"}, "alice", "bob")
	return f
}

func (f *logFixture) policy(v uint64, names []string, signers ...string) (*policies.Policy, *manifest.Envelope) {
	p := &policies.Policy{
		Version: v, Expires: manifest.FormatTime(time.Now().Add(24 * time.Hour)), Products: []string{"app"},
		Maintainers: policies.Maintainers{Thresholds: policies.Thresholds{Release: 2, Rollback: 2, Policy: 2}},
		Rebuilders:  policies.Rebuilders{Threshold: 2},
		Logs:        []policies.Log{{Origin: "bundler.test", VKey: f.store.VerifierKey()}},
		Witnesses:   policies.Witnesses{VKeys: []string{}}, MaxCheckpointAge: "1h0m0s", MinLogAge: "0s",
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

func (f *logFixture) sign(env *manifest.Envelope, names ...string) *manifest.Envelope {
	for _, n := range names {
		if err := env.Sign(context.Background(), f.keys[n]); err != nil {
			f.t.Fatal(err)
		}
	}
	return env
}

func (f *logFixture) release(typ, version string, seq uint64, artifact string, names ...string) *manifest.Envelope {
	st, err := manifest.NewRelease([]manifest.Subject{manifest.SizedSubject("app", manifest.DigestBytes([]byte(artifact)), int64(len(artifact)))},
		manifest.ReleasePredicate{Product: "app", Version: version, Sequence: seq, Type: typ, Released: manifest.FormatTime(time.Now()),
			Source: manifest.Source{URI: "https://example.org/app.git", Commit: strings.Repeat("ab", 20)}, Policy: f.pol.Digest()})
	if err != nil {
		f.t.Fatal(err)
	}
	payload, _ := manifest.MarshalRelease(st)
	return f.sign(&manifest.Envelope{PayloadType: manifest.PayloadType, Payload: payload}, names...)
}

func (f *logFixture) attest(rel *manifest.Envelope, by string) *manifest.Envelope {
	st, _ := manifest.ParseRelease(rel.Payload)
	_, payload, err := manifest.NewRebuild(st.Subject, manifest.RebuildPredicate{
		Release: policies.ReleaseRef(rel.Payload), Product: "app", Version: st.Predicate.Version, Builder: by,
		Source: st.Predicate.Source, Build: manifest.Recipe{Toolchain: "go1.26.8", Command: []string{"go", "build"}, Environment: map[string]string{}},
		Started: manifest.FormatTime(time.Now()), Finished: manifest.FormatTime(time.Now()), Outcome: manifest.OutcomeReproduced,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return f.sign(&manifest.Envelope{PayloadType: manifest.PayloadType, Payload: payload}, by)
}

// add logs env and returns the proof its publisher got.
func (f *logFixture) add(env *manifest.Envelope) *translog.Proof {
	b, _ := env.Marshal()
	i, cp, err := f.seq.Add(context.Background(), b)
	if err != nil {
		f.t.Fatal(err)
	}
	hs, err := f.store.InclusionProof(i, cp.Size)
	if err != nil {
		f.t.Fatal(err)
	}
	return &translog.Proof{Index: i, Hashes: hs, Checkpoint: cp.Raw}
}

func (f *logFixture) bundler(t testing.TB) *Bundler {
	return &Bundler{Log: f.client, Pinned: f.polEnv, IndexDir: t.TempDir()}
}

// verify checks b as a client would, with the release's own artifact.
func (f *logFixture) verify(t testing.TB, b *verifier.Bundle, artifact string) *verifier.Result {
	t.Helper()
	raw, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	pin, err := verifier.Pin(f.polEnv)
	if err != nil {
		t.Fatal(err)
	}
	res, err := verifier.Verify(verifier.Request{
		Bundle: raw, Product: "app", Pinned: pin, Now: time.Now(), Mode: verifier.ModeInstall,
		Artifacts: []verifier.Artifact{{Name: "app", Digest: manifest.DigestBytes([]byte(artifact)), Size: int64(len(artifact))}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestBundle: after a rotation, the bundle carries the chain, the release
// approved under version 2, and one attestation per rebuilder: not the
// second by r1, nor r3's (in no policy).
func TestBundle(t *testing.T) {
	f := newLog(t)
	f.add(f.polEnv)
	_, v2 := f.policy(2, []string{"alice", "bob", "dave"}, "alice", "bob")
	f.add(v2)
	f.add(f.release(manifest.TypeRelease, "0.9.0", 1, "old", "alice", "bob"))
	rel := f.release(manifest.TypeRelease, "1.0.0", 2, "new", "alice", "dave")
	first := f.add(rel)
	for _, by := range []string{"r1", "r1", "r3", "r2"} {
		f.add(f.attest(rel, by))
	}
	b, err := f.bundler(t).Make(context.Background(), Request{Product: "app", Version: "1.0.0", First: first})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Policies) != 2 || len(b.Rebuilds) != 2 {
		t.Fatalf("%d policies, %d rebuilds; want 2 and 2", len(b.Policies), len(b.Rebuilds))
	}
	res := f.verify(t, b, "new")
	if res.Policy.Version != 2 || strings.Join(res.Rebuilders, ",") != "r1,r2" {
		t.Fatalf("policy %d, rebuilders %v", res.Policy.Version, res.Rebuilders)
	}
}

// TestBundleReadsOnlyNewEntries: a second bundle reads the entries added
// since the first, not the whole log again.
func TestBundleReadsOnlyNewEntries(t *testing.T) {
	f := newLog(t)
	f.add(f.polEnv)
	var batch [][]byte
	for i := range 2000 {
		batch = append(batch, []byte(fmt.Sprintf("not an envelope %d", i)))
	}
	if _, err := f.store.Append(batch); err != nil {
		t.Fatal(err)
	}
	rel := f.release(manifest.TypeRelease, "1.0.0", 1, "a", "alice", "bob")
	first := f.add(rel)
	f.add(f.attest(rel, "r1"))
	f.add(f.attest(rel, "r2"))
	bd := f.bundler(t)
	if _, err := bd.Make(context.Background(), Request{Product: "app", Version: "1.0.0", First: first}); err != nil {
		t.Fatal(err)
	}
	cold := f.bundles.Swap(0)
	rel2 := f.release(manifest.TypeRelease, "1.0.1", 2, "b", "alice", "bob")
	first2 := f.add(rel2)
	f.add(f.attest(rel2, "r1"))
	f.add(f.attest(rel2, "r2"))
	b, err := bd.Make(context.Background(), Request{Product: "app", Version: "1.0.1", First: first2})
	if err != nil {
		t.Fatal(err)
	}
	f.verify(t, b, "b")
	// Index: one bundle of new entries; then one fetch per document
	// picked (policy, release, first-seen, two attestations, the rebuild
	// candidates): a handful, against the 8 tiles of the whole log.
	if warm := f.bundles.Load(); warm > 10 || cold < 8 {
		t.Fatalf("entry bundles fetched: %d for the first bundle, %d for the second", cold, warm)
	}
}

func TestBundleRollback(t *testing.T) {
	f := newLog(t)
	f.add(f.polEnv)
	f.add(f.release(manifest.TypeRelease, "1.0.0", 1, "one", "alice", "bob"))
	f.add(f.release(manifest.TypeRelease, "1.1.0", 2, "two", "alice", "bob"))
	back := f.release(manifest.TypeRollback, "1.0.0", 3, "one", "alice", "bob")
	first := f.add(back)
	f.add(f.attest(back, "r1"))
	f.add(f.attest(back, "r2"))
	b, err := f.bundler(t).Make(context.Background(), Request{Product: "app", Version: "1.0.0", First: first})
	if err != nil {
		t.Fatal(err)
	}
	if b.RollbackOf == nil {
		t.Fatal("no rollbackOf in a rollback's bundle")
	}
	if res := f.verify(t, b, "one"); res.Release.Predicate.Sequence != 3 {
		t.Fatalf("bundled sequence %d; want the rollback, 3", res.Release.Predicate.Sequence)
	}
}

func TestBundleRefusals(t *testing.T) {
	f := newLog(t)
	bd := f.bundler(t)
	ctx := context.Background()
	if _, err := bd.Make(ctx, Request{Product: "app", Version: "1.0.0"}); err == nil || !strings.Contains(err.Error(), "pinned policy") {
		t.Fatalf("policy not logged: %v", err)
	}
	f.add(f.polEnv)
	if _, err := bd.Make(ctx, Request{Product: "app", Version: "1.0.0"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("release not logged: %v", err)
	}
	weak := f.release(manifest.TypeRelease, "1.0.0", 1, "a", "alice")
	first := f.add(weak)
	if _, err := bd.Make(ctx, Request{Product: "app", Version: "1.0.0", First: first}); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "1 of 2") {
		t.Fatalf("release under its threshold: %v", err)
	}
	rel := f.release(manifest.TypeRelease, "1.0.1", 2, "b", "alice", "bob")
	f.add(rel)
	if _, err := bd.Make(ctx, Request{Product: "app", Version: "1.0.1", First: first}); err == nil || !strings.Contains(err.Error(), "is not this release") {
		t.Fatalf("first proof of another release: %v", err)
	}
}

// TestBundleChainInAnyOrder: version 3 logged before version 2 still
// joins the chain; a bundler given version 2 still starts it at version 1,
// for clients that pin version 1.
func TestBundleChainInAnyOrder(t *testing.T) {
	f := newLog(t)
	_, v2 := f.policy(2, []string{"alice", "bob", "dave"}, "alice", "bob")
	p2, _ := policies.Parse(v2)
	_, v3 := f.policy(3, []string{"alice", "bob", "dave"}, "alice", "bob")
	f.add(v3)
	f.add(f.polEnv)
	f.add(v2)
	rel := f.release(manifest.TypeRelease, "1.0.0", 1, "a", "alice", "dave")
	first := f.add(rel)
	f.add(f.attest(rel, "r1"))
	f.add(f.attest(rel, "r2"))
	for _, pinned := range []*manifest.Envelope{f.polEnv, v2} {
		bd := f.bundler(t)
		bd.Pinned = pinned
		b, err := bd.Make(context.Background(), Request{Product: "app", Version: "1.0.0", First: first})
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Policies) != 3 {
			t.Fatalf("pinned %v: %d policies in the chain; want 3", pinned == v2, len(b.Policies))
		}
		if res := f.verify(t, b, "a"); res.Policy.Version != 3 {
			t.Fatalf("policy in force %d; want 3", res.Policy.Version)
		}
	}
	_ = p2
}

// TestBundleFirstBelowThreshold: the proof of an early copy below the
// threshold is refused as the release's first proof.
func TestBundleFirstBelowThreshold(t *testing.T) {
	f := newLog(t)
	f.add(f.polEnv)
	early := f.add(f.release(manifest.TypeRelease, "1.0.0", 1, "a", "alice"))
	f.add(f.release(manifest.TypeRelease, "1.0.0", 1, "a", "alice", "bob"))
	_, err := f.bundler(t).Make(context.Background(), Request{Product: "app", Version: "1.0.0", First: early})
	if err == nil || !strings.Contains(err.Error(), "below the threshold") {
		t.Fatalf("first proof of a copy below the threshold: %v", err)
	}
}

// TestBundleSinceOnce: one checkpoint given twice gives one proof.
func TestBundleSinceOnce(t *testing.T) {
	f := newLog(t)
	f.add(f.polEnv)
	old := f.store.Checkpoint()
	rel := f.release(manifest.TypeRelease, "1.0.0", 1, "a", "alice", "bob")
	first := f.add(rel)
	f.add(f.attest(rel, "r1"))
	f.add(f.attest(rel, "r2"))
	b, err := f.bundler(t).Make(context.Background(), Request{Product: "app", Version: "1.0.0", First: first, Since: []*translog.SignedCheckpoint{old, old}})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Consistency) != 1 {
		t.Fatalf("%d consistency proofs; want 1", len(b.Consistency))
	}
	f.verify(t, b, "a")
}
