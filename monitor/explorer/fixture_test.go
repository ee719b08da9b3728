package explorer

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/monitor"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/signer"
	"ssms.dev/ssms/translog"
	"ssms.dev/ssms/verifier"
	"ssms.dev/ssms/witness"
)

// Hostile strings put into logged data and reports: rendered anywhere
// but as text, they would run.
const (
	hostileProduct = `<script>alert("product")</script>`
	hostileURI     = `https://x.org/"><img src=x onerror=alert("uri")>`
	hostileError   = `<img src=x onerror=alert("report")>`
)

// fixture is a real log (translog over HTTP, cosigned by one witness of
// two the policy names) and a monitor following it.
type fixture struct {
	t       testing.TB
	keys    map[string]signer.Signer
	pol     *policies.Policy
	polEnv  *manifest.Envelope
	logDir  string
	store   *translog.Store
	seq     *translog.Sequencer
	client  *translog.Client
	stop    func()
	mon     *monitor.Monitor
	cosign  *witness.Cosigner
	w1, w2  string // witness vkeys: w1 cosigns, w2 never does
	lastIdx int64
}

// cosigner is the log's witness, in process.
type cosigner struct{ c *witness.Cosigner }

func (w cosigner) Cosign(_ context.Context, cp *translog.SignedCheckpoint, _ func(int64) ([]tlog.Hash, error)) ([]byte, error) {
	sig, err := w.c.Sign(cp.Checkpoint.Marshal())
	if err != nil {
		return nil, err
	}
	line := fmt.Sprintf("— %s %s\n", w.c.Name(), base64.StdEncoding.EncodeToString(append(binary.BigEndian.AppendUint32(nil, w.c.KeyHash()), sig...)))
	return translog.ReplaceSignatures(cp.Raw, line), nil
}

func newFixture(t testing.TB, rebuilds int) *fixture {
	t.Helper()
	f := &fixture{t: t, keys: map[string]signer.Signer{}}
	for _, n := range []string{"alice", "bob", "carol", "r1", "r2"} {
		priv, _ := signer.Generate(signer.Ed25519)
		f.keys[n], _ = signer.NewKeySigner(priv)
	}
	skey, vkey, _ := witness.GenerateKey("w1")
	f.cosign, _ = witness.NewCosigner(skey)
	f.w1 = vkey
	_, f.w2, _ = witness.GenerateKey("w2")
	f.logDir = filepath.Join(t.TempDir(), "log")
	logVKey, err := translog.Init(f.logDir, "explorer.test")
	if err != nil {
		t.Fatal(err)
	}
	p := &policies.Policy{
		Version: 1, Expires: manifest.FormatTime(time.Now().Add(24 * time.Hour)), Products: []string{"app"},
		Maintainers: policies.Maintainers{Thresholds: policies.Thresholds{Release: 2, Rollback: 2, Policy: 2}},
		Rebuilders:  policies.Rebuilders{Threshold: rebuilds},
		Logs:        []policies.Log{{Origin: "explorer.test", VKey: logVKey}},
		Witnesses:   policies.Witnesses{VKeys: []string{f.w1, f.w2}, Quorum: 1}, MaxCheckpointAge: "1h0m0s", MinLogAge: "0s",
	}
	for _, n := range []string{"alice", "bob", "carol"} {
		p.Maintainers.Keys = append(p.Maintainers.Keys, policies.NewKey(n, f.keys[n].Public()))
	}
	for _, n := range []string{"r1", "r2"} {
		p.Rebuilders.Keys = append(p.Rebuilders.Keys, policies.NewKey(n, f.keys[n].Public()))
	}
	payload, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	f.polEnv = f.sign(&manifest.Envelope{PayloadType: policies.PayloadType, Payload: payload}, "alice", "bob")
	if f.pol, err = verifier.Pin(f.polEnv); err != nil {
		t.Fatal(err)
	}
	f.serve(logVKey)
	f.mon = &monitor.Monitor{Log: f.client, Pinned: f.pol, Dir: filepath.Join(t.TempDir(), "monitor")}
	return f
}

func (f *fixture) serve(vkey string) {
	var err error
	if f.store, err = translog.Open(f.logDir); err != nil {
		f.t.Fatal(err)
	}
	f.seq = translog.NewWitnessedSequencer(f.store, 1<<16, 4096, translog.WitnessOptions{Cosigner: cosigner{f.cosign}})
	srv := httptest.NewServer(translog.NewServer(f.store, f.seq, translog.AdmitFunc(func([]byte) error { return nil })).Handler())
	f.stop = func() { srv.Close(); f.seq.Close(); f.store.Close() }
	f.t.Cleanup(f.stop)
	f.client, _ = translog.NewClient(srv.URL, vkey)
}

func (f *fixture) sign(env *manifest.Envelope, names ...string) *manifest.Envelope {
	for _, n := range names {
		if err := env.Sign(context.Background(), f.keys[n]); err != nil {
			f.t.Fatal(err)
		}
	}
	return env
}

// artifact is the digest of a release's one artifact.
func artifact(version string) manifest.Digest { return manifest.DigestBytes([]byte("app " + version)) }

func (f *fixture) release(version string, seq uint64, uri string, names ...string) *manifest.Envelope {
	st, err := manifest.NewRelease([]manifest.Subject{manifest.SizedSubject("app", artifact(version), int64(len("app "+version)))},
		manifest.ReleasePredicate{Product: "app", Version: version, Sequence: seq, Type: manifest.TypeRelease, Released: "2026-11-22T00:00:00Z",
			Source: manifest.Source{URI: uri, Commit: strings.Repeat("a", 40)}, Policy: f.pol.Digest()})
	if err != nil {
		f.t.Fatal(err)
	}
	payload, _ := manifest.MarshalRelease(st)
	return f.sign(&manifest.Envelope{PayloadType: manifest.PayloadType, Payload: payload}, names...)
}

// hostileRelease is a signed release whose product name is markup: the
// statement does not parse, so the monitor reports a bad entry quoting it.
func (f *fixture) hostileRelease() *manifest.Envelope {
	payload := fmt.Sprintf(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"app","digest":{"sha256":"%064x"}}],"predicateType":"%s","predicate":{"product":%q,"version":"6.6.6","sequence":9,"type":"release","released":"2026-11-22T00:00:00Z","source":{"uri":"https://x.org/a","commit":"%s"},"policy":"%s"}}`,
		1, manifest.ReleasePredicateType, hostileProduct, strings.Repeat("a", 40), f.pol.Digest())
	return f.sign(&manifest.Envelope{PayloadType: manifest.PayloadType, Payload: []byte(payload)}, "alice", "bob")
}

func (f *fixture) attest(rel *manifest.Envelope, by string, tamper bool) *manifest.Envelope {
	st, _ := manifest.ParseRelease(rel.Payload)
	subjects := append([]manifest.Subject(nil), st.Subject...)
	if tamper {
		subjects[0] = manifest.SizedSubject("app", manifest.DigestBytes([]byte("something else")), 3)
	}
	_, payload, err := manifest.NewRebuild(subjects, manifest.RebuildPredicate{
		Release: policies.ReleaseRef(rel.Payload), Product: "app", Version: st.Predicate.Version, Builder: by,
		Source: st.Predicate.Source, Build: manifest.Recipe{Toolchain: "go1.26.8", Command: []string{"go", "build"}, Environment: map[string]string{}},
		Started: "2026-11-22T00:00:00Z", Finished: "2026-11-22T00:01:00Z", Outcome: manifest.OutcomeReproduced,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return f.sign(&manifest.Envelope{PayloadType: manifest.PayloadType, Payload: payload}, by)
}

// log adds the entries and returns the proof of the last, as a publisher
// gets it.
func (f *fixture) log(envs ...*manifest.Envelope) *translog.Proof {
	var proof *translog.Proof
	for _, e := range envs {
		b, _ := e.Marshal()
		i, cp, err := f.seq.Add(context.Background(), b)
		if err != nil {
			f.t.Fatal(err)
		}
		hs, err := f.store.InclusionProof(i, cp.Size)
		if err != nil {
			f.t.Fatal(err)
		}
		proof = &translog.Proof{Index: i, Hashes: hs, Checkpoint: cp.Raw}
	}
	return proof
}

func (f *fixture) pass() *monitor.Pass {
	f.t.Helper()
	p, err := f.mon.Run(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

// fork replaces the log by one with the same key and other entries: the
// monitor's next pass finds it inconsistent and keeps the evidence.
func (f *fixture) fork() {
	f.stop()
	key, _ := os.ReadFile(filepath.Join(f.logDir, "log.key"))
	vkey, _ := os.ReadFile(filepath.Join(f.logDir, "log.vkey"))
	os.RemoveAll(f.logDir)
	translog.Init(f.logDir, "explorer.test")
	os.WriteFile(filepath.Join(f.logDir, "log.key"), key, 0o600)
	os.WriteFile(filepath.Join(f.logDir, "log.vkey"), vkey, 0o644)
	os.Remove(filepath.Join(f.logDir, "checkpoint"))
	f.serve(strings.TrimSpace(string(vkey)))
	f.log(f.polEnv, f.release("1.0.0", 1, "https://evil.example/app.git", "alice", "bob"))
	for i := range 12 { // a longer history than the one the monitor verified
		f.log(f.release(fmt.Sprintf("1.0.%d", i+1), uint64(i+2), "https://evil.example/app.git", "alice", "bob"))
	}
	f.mon.Log = f.client
}

// scenario is the log the tests look at, entry by entry:
//
//	0 policy · 1 app 1.0.0 · 2, 3 its rebuilds (r1, r2: reproduced) ·
//	4 app 1.1.0 (hostile source URI) · 5 r1's rebuild of it, not matching ·
//	6 a release whose product name is markup · 7 app 1.2.0 signed by one
//
// then a fork, which the monitor catches with evidence.
type scenario struct {
	*fixture
	first *translog.Proof // 1.0.0's publication proof
	rel1  *manifest.Envelope
	ex    *Explorer
}

func newScenario(t testing.TB) *scenario {
	f := newFixture(t, 2)
	s := &scenario{fixture: f}
	f.log(f.polEnv)
	s.rel1 = f.release("1.0.0", 1, "https://x.org/app.git", "alice", "bob")
	s.first = f.log(s.rel1)
	rel2 := f.release("1.1.0", 2, hostileURI, "bob", "carol")
	f.log(f.attest(s.rel1, "r1", false), f.attest(s.rel1, "r2", false), rel2, f.attest(rel2, "r1", true),
		f.hostileRelease(), f.release("1.2.0", 3, "https://x.org/app.git", "alice"))
	f.pass()
	var err error
	if s.ex, err = New(Config{Dir: f.mon.Dir, Pinned: f.pol, VKey: f.client.VKey, ReportRate: 5}); err != nil {
		t.Fatal(err)
	}
	return s
}

// forkNow forks the log, runs a pass and refreshes the explorer.
func (s *scenario) forkNow() {
	s.fork()
	if p := s.pass(); len(p.Findings) != 1 || p.Findings[0].Kind != monitor.KindInconsistentLog {
		s.t.Fatalf("fork not caught: %+v", p.Findings)
	}
	if err := s.ex.Refresh(); err != nil {
		s.t.Fatal(err)
	}
}
