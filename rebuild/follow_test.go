package rebuild

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/signer"
	"ssms.dev/ssms/translog"
)

func newSigner(t *testing.T) signer.Signer {
	t.Helper()
	priv, err := signer.Generate(signer.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signer.NewKeySigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// followFixture is a real log on loopback and a policy with one maintainer
// and one rebuilder.
type followFixture struct {
	t          *testing.T
	seq        *translog.Sequencer
	client     *translog.Client
	pol        *policies.Policy
	maintainer signer.Signer
	rebuilder  signer.Signer
}

func newFollowFixture(t *testing.T) *followFixture {
	f := &followFixture{t: t, maintainer: newSigner(t), rebuilder: newSigner(t)}
	dir := filepath.Join(t.TempDir(), "log")
	vkey, err := translog.Init(dir, "follow.test")
	if err != nil {
		t.Fatal(err)
	}
	store, err := translog.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	f.seq = translog.NewSequencer(store, 1<<10, 64)
	srv := httptest.NewServer(translog.NewServer(store, f.seq, translog.AdmitFunc(func([]byte) error { return nil })).Handler())
	t.Cleanup(func() { srv.Close(); f.seq.Close(); store.Close() })
	if f.client, err = translog.NewClient(srv.URL, vkey); err != nil {
		t.Fatal(err)
	}
	p := &policies.Policy{
		Version: 1, Expires: manifest.FormatTime(time.Now().Add(24 * time.Hour)), Products: []string{"demo"},
		Maintainers: policies.Maintainers{Keys: []policies.Key{policies.NewKey("alice", f.maintainer.Public())}, Thresholds: policies.Thresholds{Release: 1, Rollback: 1, Policy: 1}},
		Rebuilders:  policies.Rebuilders{Keys: []policies.Key{policies.NewKey("r1", f.rebuilder.Public())}, Threshold: 1},
		Logs:        []policies.Log{}, Witnesses: policies.Witnesses{VKeys: []string{}}, MaxCheckpointAge: "168h0m0s", MinLogAge: "0s",
	}
	payload, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if f.pol, err = policies.ParsePolicy(payload); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *followFixture) release(product, version, commit, source, digest string, recipe *manifest.Recipe, signed bool) *manifest.Envelope {
	st, err := manifest.NewRelease([]manifest.Subject{{Name: "demo", Digest: manifest.Digest{SHA256: digest}}}, manifest.ReleasePredicate{
		Product: product, Version: version, Sequence: 1, Type: manifest.TypeRelease, Released: "2026-11-22T00:00:00Z",
		Source: manifest.Source{URI: "file://" + source, Commit: commit}, Build: recipe, Policy: f.pol.Digest(),
	})
	if err != nil {
		f.t.Fatal(err)
	}
	payload, err := manifest.MarshalRelease(st)
	if err != nil {
		f.t.Fatal(err)
	}
	env := &manifest.Envelope{PayloadType: manifest.PayloadType, Payload: payload}
	if signed {
		if err := env.Sign(context.Background(), f.maintainer); err != nil {
			f.t.Fatal(err)
		}
	}
	return env
}

func (f *followFixture) log(envs ...*manifest.Envelope) {
	for _, e := range envs {
		b, _ := e.Marshal()
		if _, _, err := f.seq.Add(context.Background(), b); err != nil {
			f.t.Fatal(err)
		}
	}
}

func TestFollow(t *testing.T) {
	f := newFollowFixture(t)
	source, commit := demoModule(t, "hello")
	r := demoRecipe("-buildid=")
	good := manifestDigest(t, filepath.Join(rebuildDemo(t, source, commit, r), "demo"))
	bad := strings.Repeat("0", 64)
	f.log(
		f.release("demo", "1.0.0", commit, source, good, r, true),   // 0: rebuilds
		f.release("demo", "1.0.1", commit, source, bad, r, true),    // 1: does not
		f.release("demo", "1.0.2", commit, source, good, r, false),  // 2: unsigned: skipped
		f.release("other", "1.0.0", commit, source, good, r, true),  // 3: not the policy's product
		f.release("demo", "1.0.3", commit, source, good, nil, true), // 4: no recipe
	)
	var report strings.Builder
	fw := &Follower{Log: f.client, Policy: f.pol, Dir: t.TempDir(), Report: &report, LocalSources: true,
		Rebuilder: &Rebuilder{Signer: f.rebuilder, Builder: "r1", Output: io.Discard, Runner: testRunner(t)}}
	pass, err := fw.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if pass.From != 0 || pass.To != 5 || pass.Attested != 1 || pass.Mismatched != 1 {
		t.Fatalf("pass %+v\n%s", pass, report.String())
	}
	for _, want := range []string{"entry 0: demo 1.0.0 reproduced; attestation logged as entry 5", "entry 1: demo 1.0.1: MISMATCH", "entry 2: skipped", "entry 3: skipped", "entry 4: skipped: demo 1.0.3 has no recipe"} {
		if !strings.Contains(report.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, report.String())
		}
	}
	// The logged attestation meets the policy's rebuild threshold.
	cp, err := f.client.Checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	entries, err := f.client.Entries(context.Background(), 0, cp.Size, cp.Checkpoint)
	if err != nil || len(entries) != 6 {
		t.Fatalf("log: %d entries, %v", len(entries), err)
	}
	relEnv, _ := manifest.ParseEnvelope(entries[0])
	rel, _ := manifest.ParseRelease(relEnv.Payload)
	att, err := manifest.ParseEnvelope(entries[5])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.pol.ApproveRebuilds(rel, relEnv.Payload, []*manifest.Envelope{att}); err != nil {
		t.Fatalf("the logged attestation does not count: %v", err)
	}
	// The next pass sees only its own attestation; the one after, nothing.
	for _, want := range []int64{6, 6} {
		if pass, err = fw.Run(context.Background()); err != nil || pass.To != want || pass.Attested != 0 {
			t.Fatalf("later pass: %+v %v", pass, err)
		}
	}
}

func manifestDigest(t *testing.T, path string) string {
	t.Helper()
	d, err := manifest.DigestFile(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return d.SHA256
}

// TestAttackReplayedReleaseRebuiltOnce logs one signed release three times
// under other bytes (as a later co-signer, or anyone re-logging a public
// envelope with other signature bytes, would): the follower rebuilds it
// once. The old follower rebuilt every copy, minutes of work each. The log
// also refuses the first attestation, and the next pass submits the kept
// one rather than rebuilding.
func TestAttackReplayedReleaseRebuiltOnce(t *testing.T) {
	f := newFollowFixture(t)
	source, commit := demoModule(t, "hello")
	r := demoRecipe("-buildid=")
	good := manifestDigest(t, filepath.Join(rebuildDemo(t, source, commit, r), "demo"))
	rel := f.release("demo", "1.0.0", commit, source, good, r, true)
	hinted := *rel
	hinted.Signatures = []manifest.Signature{{KeyID: "another hint", Sig: rel.Signatures[0].Sig}}
	f.log(rel, &hinted) // the log here dedups only exact bytes

	var refused atomic.Bool
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && refused.CompareAndSwap(false, true) {
			http.Error(w, "down for a moment", http.StatusInternalServerError)
			return
		}
		httputil.NewSingleHostReverseProxy(must(url.Parse(f.client.URL))).ServeHTTP(w, r)
	}))
	defer proxy.Close()
	client, err := translog.NewClient(proxy.URL, f.client.VKey)
	if err != nil {
		t.Fatal(err)
	}
	var report strings.Builder
	fw := &Follower{Log: client, Policy: f.pol, Dir: t.TempDir(), Report: &report, LocalSources: true,
		Rebuilder: &Rebuilder{Signer: f.rebuilder, Builder: "r1", Output: io.Discard, Runner: testRunner(t)}}
	if _, err := fw.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "down for a moment") {
		t.Fatalf("first pass: %v", err)
	}
	kept, err := os.ReadFile(filepath.Join(fw.Dir, "attestations", "demo-1.0.0.rebuild-r1.json"))
	if err != nil {
		t.Fatal(err)
	}
	pass, err := fw.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// A second rebuild would have made another attestation (its times).
	cp, _ := f.client.Checkpoint(context.Background())
	if logged, err := f.client.Entries(context.Background(), 2, 3, cp.Checkpoint); err != nil || !bytes.Equal(logged[0], kept) {
		t.Fatalf("entry 2 is not the attestation kept by the first pass (%v)", err)
	}
	if pass.From != 0 || pass.To != 2 || pass.Attested != 1 || !strings.Contains(report.String(), "entry 1: skipped: demo 1.0.0 was rebuilt already (entry 0)") {
		t.Fatalf("pass %+v\n%s", pass, report.String())
	}
	// The state remembers across passes.
	junk := &manifest.Envelope{PayloadType: rel.PayloadType, Payload: rel.Payload, Signatures: append([]manifest.Signature{{KeyID: "x", Sig: []byte{1}}}, rel.Signatures...)}
	f.log(junk)
	if pass, err = fw.Run(context.Background()); err != nil || pass.To != 4 || pass.Attested != 0 || pass.Mismatched != 0 {
		t.Fatalf("next pass: %+v %v\n%s", pass, err, report.String())
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestAttackBadReleaseDoesNotBlockFollower logs signed releases that cannot
// be rebuilt (a source that cannot be fetched yet, a recipe that fails)
// before a good one. The old follower stopped every pass at the first and
// never reached the good one. Now the good one is attested in the first
// pass; each bad one is recorded and tried again only when due, at most
// three times; the first rebuilds once its source appears, the second is
// given up with a state entry saying why. A copy of a failed release is
// not rebuilt on its own.
func TestAttackBadReleaseDoesNotBlockFollower(t *testing.T) {
	f := newFollowFixture(t)
	source, commit := demoModule(t, "hello")
	r := demoRecipe("-buildid=")
	good := manifestDigest(t, filepath.Join(rebuildDemo(t, source, commit, r), "demo"))
	later := filepath.Join(t.TempDir(), "later") // the source, not there yet
	failing := &manifest.Recipe{Toolchain: r.Toolchain, Command: []string{"go", "build", "./missing"}, Environment: map[string]string{}}
	unfetched := f.release("demo", "1.0.0", commit, later, good, r, true)
	copied := *unfetched
	copied.Signatures = []manifest.Signature{{KeyID: "another hint", Sig: unfetched.Signatures[0].Sig}}
	f.log(
		unfetched, // 0: cannot be fetched until the second retry
		f.release("demo", "1.0.1", commit, source, good, failing, true), // 1: never builds
		f.release("demo", "1.0.2", commit, source, good, r, true),       // 2: good
		&copied, // 3: the payload of 0 again
	)
	now := time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)
	var report strings.Builder
	fw := &Follower{Log: f.client, Policy: f.pol, Dir: t.TempDir(), Report: &report, LocalSources: true, Now: func() time.Time { return now },
		Rebuilder: &Rebuilder{Signer: f.rebuilder, Builder: "r1", Output: io.Discard, Runner: testRunner(t)}}
	run := func(at time.Duration) *FollowPass {
		t.Helper()
		now = now.Add(at)
		report.Reset()
		pass, err := fw.Run(context.Background())
		if err != nil {
			t.Fatalf("pass: %v\n%s", err, report.String())
		}
		return pass
	}
	failed := func(version string) *Failure {
		t.Helper()
		st, err := fw.load()
		if err != nil {
			t.Fatal(err)
		}
		for _, fl := range st.Failed {
			if fl.Version == version {
				return fl
			}
		}
		return nil
	}

	pass := run(0)
	if pass.To != 4 || pass.Attested != 1 || len(pass.Failed) != 2 {
		t.Fatalf("first pass: %+v\n%s", pass, report.String())
	}
	for _, want := range []string{
		"entry 0: demo 1.0.0: FAILED, attempt 1 of 3, next no sooner than 2026-11-27T02:00:00Z: cloning file://" + later,
		`entry 1: demo 1.0.1: FAILED, attempt 1 of 3, next no sooner than 2026-11-27T02:00:00Z: recipe command "go build ./missing"`,
		"entry 2: demo 1.0.2 reproduced; attestation logged as entry 4",
		"entry 3: skipped: demo 1.0.0 failed at entry 0 (attempt 1 of 3)",
	} {
		if !strings.Contains(report.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, report.String())
		}
	}
	if fl := failed("1.0.1"); fl == nil || *fl != (Failure{Entry: 1, Product: "demo", Version: "1.0.1", Attempts: 1, Last: "2026-11-27T01:00:00Z", Error: fl.Error}) || !strings.Contains(fl.Error, "exit status 1") {
		t.Fatalf("state: %+v", fl)
	}

	// Not due: nothing is tried again.
	if pass = run(59 * time.Minute); pass.To != 5 || pass.Attested != 0 || len(pass.Failed) != 0 || report.Len() != 0 {
		t.Fatalf("pass before the retry time: %+v\n%s", pass, report.String())
	}

	// Due: both are tried again, in log order; 1.0.0 is still not there.
	if pass = run(time.Minute); len(pass.Failed) != 2 || pass.Failed[0].Entry != 0 || pass.Failed[0].Attempts != 2 || pass.Failed[1].GaveUp {
		t.Fatalf("first retry: %+v\n%s", pass, report.String())
	}

	// The source of 1.0.0 appears: it rebuilds; 1.0.1 is given up.
	gitT(t, filepath.Dir(later), "clone", "--quiet", source, later)
	if pass = run(time.Hour); pass.Attested != 1 || len(pass.Failed) != 1 || !pass.Failed[0].GaveUp {
		t.Fatalf("second retry: %+v\n%s", pass, report.String())
	}
	for _, want := range []string{
		"entry 0: demo 1.0.0 reproduced; attestation logged as entry 5",
		`entry 1: demo 1.0.1: FAILED, attempt 3 of 3, given up: recipe command "go build ./missing"`,
	} {
		if !strings.Contains(report.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, report.String())
		}
	}
	if fl := failed("1.0.0"); fl != nil {
		t.Errorf("1.0.0 rebuilt, still failed in the state: %+v", fl)
	}
	if fl := failed("1.0.1"); fl == nil || !fl.GaveUp || fl.Attempts != 3 || fl.Last != "2026-11-27T03:00:00Z" {
		t.Fatalf("state: %+v", fl)
	}

	// Given up, it is not tried again, however long after.
	if pass = run(24 * time.Hour); pass.To != 6 || pass.Attested != 0 || len(pass.Failed) != 0 || report.Len() != 0 {
		t.Fatalf("pass after giving up: %+v\n%s", pass, report.String())
	}
}

// TestFollowTimeout: a rebuild that outlasts Timeout (a build that
// hangs; here an ordinary one given 100ms) is a failure, not a follower
// stuck for ever. The sandbox's tests check that the build's processes
// are killed.
func TestFollowTimeout(t *testing.T) {
	f := newFollowFixture(t)
	source, commit := demoModule(t, "hello")
	f.log(f.release("demo", "1.0.0", commit, source, strings.Repeat("0", 64), demoRecipe(""), true))
	var report strings.Builder
	fw := &Follower{Log: f.client, Policy: f.pol, Dir: t.TempDir(), Report: &report, LocalSources: true, Timeout: 100 * time.Millisecond,
		Rebuilder: &Rebuilder{Signer: f.rebuilder, Builder: "r1", Output: io.Discard, Runner: testRunner(t)}}
	start := time.Now()
	pass, err := fw.Run(context.Background())
	if err != nil || len(pass.Failed) != 1 || !strings.Contains(pass.Failed[0].Error, "no result after 100ms") {
		t.Fatalf("pass: %+v %v\n%s", pass, err, report.String())
	}
	if d := time.Since(start); d > time.Minute {
		t.Errorf("the pass took %v", d)
	}
}
