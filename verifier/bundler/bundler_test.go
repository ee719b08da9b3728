package bundler

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ssms.dev/ssms/internal/logfixture"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/translog"
	"ssms.dev/ssms/verifier"
)

// logFixture is the project of logfixture, for product "app", counting
// the entry bundles the log serves.
type logFixture struct {
	*logfixture.Fixture
	t       testing.TB
	bundles atomic.Int64 // entry bundles served
}

func newLog(t testing.TB) *logFixture {
	f := &logFixture{Fixture: logfixture.New(t, "app"), t: t}
	f.OnRequest = func(r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/tile/entries/") {
			f.bundles.Add(1)
		}
	}
	return f
}

func (f *logFixture) bundler(t testing.TB) *Bundler {
	return &Bundler{Log: f.Client, Pinned: f.PolEnv, IndexDir: t.TempDir()}
}

// verify checks b as a client would, with the release's own artifact.
func (f *logFixture) verify(t testing.TB, b *verifier.Bundle, artifact string) *verifier.Result {
	t.Helper()
	raw, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	pin, err := verifier.Pin(f.PolEnv)
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
	f.Add(f.PolEnv)
	_, v2 := f.Policy(2, []string{"alice", "bob", "dave"}, "alice", "bob")
	f.Add(v2)
	f.Add(f.Release(manifest.TypeRelease, "0.9.0", 1, "old", "alice", "bob"))
	rel := f.Release(manifest.TypeRelease, "1.0.0", 2, "new", "alice", "dave")
	first := f.Add(rel)
	for _, by := range []string{"r1", "r1", "r3", "r2"} {
		f.Add(f.Attest(rel, by))
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
	f.Add(f.PolEnv)
	var batch [][]byte
	for i := range 2000 {
		batch = append(batch, []byte(fmt.Sprintf("not an envelope %d", i)))
	}
	if _, err := f.Store.Append(batch); err != nil {
		t.Fatal(err)
	}
	rel := f.Release(manifest.TypeRelease, "1.0.0", 1, "a", "alice", "bob")
	first := f.Add(rel)
	f.Add(f.Attest(rel, "r1"))
	f.Add(f.Attest(rel, "r2"))
	bd := f.bundler(t)
	if _, err := bd.Make(context.Background(), Request{Product: "app", Version: "1.0.0", First: first}); err != nil {
		t.Fatal(err)
	}
	cold := f.bundles.Swap(0)
	rel2 := f.Release(manifest.TypeRelease, "1.0.1", 2, "b", "alice", "bob")
	first2 := f.Add(rel2)
	f.Add(f.Attest(rel2, "r1"))
	f.Add(f.Attest(rel2, "r2"))
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
	f.Add(f.PolEnv)
	f.Add(f.Release(manifest.TypeRelease, "1.0.0", 1, "one", "alice", "bob"))
	f.Add(f.Release(manifest.TypeRelease, "1.1.0", 2, "two", "alice", "bob"))
	back := f.Release(manifest.TypeRollback, "1.0.0", 3, "one", "alice", "bob")
	first := f.Add(back)
	f.Add(f.Attest(back, "r1"))
	f.Add(f.Attest(back, "r2"))
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
	f.Add(f.PolEnv)
	if _, err := bd.Make(ctx, Request{Product: "app", Version: "1.0.0"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("release not logged: %v", err)
	}
	weak := f.Release(manifest.TypeRelease, "1.0.0", 1, "a", "alice")
	first := f.Add(weak)
	if _, err := bd.Make(ctx, Request{Product: "app", Version: "1.0.0", First: first}); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "1 of 2") {
		t.Fatalf("release under its threshold: %v", err)
	}
	rel := f.Release(manifest.TypeRelease, "1.0.1", 2, "b", "alice", "bob")
	f.Add(rel)
	if _, err := bd.Make(ctx, Request{Product: "app", Version: "1.0.1", First: first}); err == nil || !strings.Contains(err.Error(), "is not this release") {
		t.Fatalf("first proof of another release: %v", err)
	}
}

// TestBundleChainInAnyOrder: version 3 logged before version 2 still
// joins the chain; a bundler given version 2 still starts it at version 1,
// for clients that pin version 1.
func TestBundleChainInAnyOrder(t *testing.T) {
	f := newLog(t)
	_, v2 := f.Policy(2, []string{"alice", "bob", "dave"}, "alice", "bob")
	p2, _ := policies.Parse(v2)
	_, v3 := f.Policy(3, []string{"alice", "bob", "dave"}, "alice", "bob")
	f.Add(v3)
	f.Add(f.PolEnv)
	f.Add(v2)
	rel := f.Release(manifest.TypeRelease, "1.0.0", 1, "a", "alice", "dave")
	first := f.Add(rel)
	f.Add(f.Attest(rel, "r1"))
	f.Add(f.Attest(rel, "r2"))
	for _, pinned := range []*manifest.Envelope{f.PolEnv, v2} {
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
	f.Add(f.PolEnv)
	early := f.Add(f.Release(manifest.TypeRelease, "1.0.0", 1, "a", "alice"))
	f.Add(f.Release(manifest.TypeRelease, "1.0.0", 1, "a", "alice", "bob"))
	_, err := f.bundler(t).Make(context.Background(), Request{Product: "app", Version: "1.0.0", First: early})
	if err == nil || !strings.Contains(err.Error(), "below the threshold") {
		t.Fatalf("first proof of a copy below the threshold: %v", err)
	}
}

// TestBundleSinceOnce: one checkpoint given twice gives one proof.
func TestBundleSinceOnce(t *testing.T) {
	f := newLog(t)
	f.Add(f.PolEnv)
	old := f.Store.Checkpoint()
	rel := f.Release(manifest.TypeRelease, "1.0.0", 1, "a", "alice", "bob")
	first := f.Add(rel)
	f.Add(f.Attest(rel, "r1"))
	f.Add(f.Attest(rel, "r2"))
	b, err := f.bundler(t).Make(context.Background(), Request{Product: "app", Version: "1.0.0", First: first, Since: []*translog.SignedCheckpoint{old, old}})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Consistency) != 1 {
		t.Fatalf("%d consistency proofs; want 1", len(b.Consistency))
	}
	f.verify(t, b, "a")
}
