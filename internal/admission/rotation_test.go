package admission

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/signer"
	"ssms.dev/ssms/translog"
)

// policyOf is a policy whose maintainers are maint, any one of them enough.
func policyOf(t testing.TB, version uint64, rebuilder signer.Signer, maint ...signer.Signer) *policies.Policy {
	p := testPolicy(t, maint[0], rebuilder)
	p.Version = version
	p.Maintainers.Keys = nil
	for i, m := range maint {
		p.Maintainers.Keys = append(p.Maintainers.Keys, policies.NewKey(fmt.Sprintf("m%d", i), m.Public()))
	}
	if _, err := p.Marshal(); err != nil {
		t.Fatal(err)
	}
	return p
}

// serve serves store with a new server admitting for pols, limit entries
// per key per hour, and returns its URL.
func serve(t *testing.T, store *translog.Store, seq *translog.Sequencer, limit int, pols ...*policies.Policy) string {
	s := translog.NewServer(store, seq, New(pols))
	s.KeyLimit = limit
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return hs.URL
}

// add posts entry and returns the status and the index of the proof.
func add(t *testing.T, url string, entry []byte) (int, int64) {
	t.Helper()
	resp, err := http.Post(url+"/add", "application/json", bytes.NewReader(entry))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return resp.StatusCode, -1
	}
	p, err := translog.ParseProof(b)
	if err != nil {
		t.Fatal(err)
	}
	return 200, p.Index
}

// TestAttackRotationRelog mounts the red team's rotation_relog: after a
// rotation removes bob's key and the log restarts serving only the new
// policy, an outsider strips bob's signature from logged releases and
// submits every subset of the remaining signatures. Each must be answered
// with the logged entry, and the maintainers' next release must go in.
func TestAttackRotationRelog(t *testing.T) {
	ctx := context.Background()
	alice, bob, carol, reb := gen(t, signer.Ed25519), gen(t, signer.Ed25519), gen(t, signer.ECDSAP256), gen(t, signer.Ed25519)
	p1 := policyOf(t, 1, reb, alice, bob, carol)
	p2 := policyOf(t, 2, reb, alice, carol)
	dir := filepath.Join(t.TempDir(), "log")
	if _, err := translog.Init(dir, "log.test"); err != nil {
		t.Fatal(err)
	}
	store, err := translog.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	seq := translog.NewSequencer(store, translog.DefaultMaxPending, translog.DefaultMaxBatch)
	t.Cleanup(seq.Close)

	release := func(n int, signers ...signer.Signer) *manifest.Envelope {
		env := &manifest.Envelope{PayloadType: manifest.PayloadType, Payload: fmt.Appendf(nil, `{"release":%d}`, n)}
		for _, s := range signers {
			if err := env.Sign(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		return env
	}
	marshal := func(env *manifest.Envelope) []byte {
		b, err := env.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	url := serve(t, store, seq, 0, p1)
	var logged []*manifest.Envelope
	for n := range 2 {
		env := release(n, alice, bob, carol)
		if status, index := add(t, url, marshal(env)); status != 200 || index != int64(n) {
			t.Fatalf("release %d: %d, index %d", n, status, index)
		}
		logged = append(logged, env)
	}

	// The rotation: the log restarts serving p2 only, with fresh counts.
	url = serve(t, store, seq, 2, p2)
	keep := func(env *manifest.Envelope, ids ...string) []byte {
		out := &manifest.Envelope{PayloadType: env.PayloadType, Payload: env.Payload}
		for _, sig := range env.Signatures {
			for _, id := range ids {
				if sig.KeyID == id {
					out.Signatures = append(out.Signatures, sig)
				}
			}
		}
		return marshal(out)
	}
	a, c := alice.Public().ID(), carol.Public().ID()
	for n, env := range logged {
		for _, ids := range [][]string{{a}, {c}, {a, c}, {c, a}} {
			if status, index := add(t, url, keep(env, ids...)); status != 200 || index != int64(n) {
				t.Errorf("release %d stripped to %d signatures: %d, index %d; want the logged entry %d", n, len(ids), status, index, n)
			}
		}
	}
	if status, index := add(t, url, marshal(release(2, alice, carol))); status != 200 || index != 2 {
		t.Fatalf("the maintainers' next release: %d, index %d; want 200, index 2", status, index)
	}
	// Bob's signature is ignored by the index, so bob alone is refused,
	// not mistaken for a copy.
	if status, _ := add(t, url, keep(logged[0], bob.Public().ID())); status != 403 {
		t.Errorf("bob's signature alone, after bob's removal: %d, want 403", status)
	}
	if size := store.Checkpoint().Size; size != 3 {
		t.Errorf("log size %d, want 3", size)
	}
}

// TestLoggedClaim checks the index's claim of a logged entry: every served
// key whose signature verifies, whatever the encoding, ignoring the rest.
func TestLoggedClaim(t *testing.T) {
	ctx := context.Background()
	m, r, gone := gen(t, signer.Ed25519), gen(t, signer.Ed25519), gen(t, signer.Ed25519)
	a := New([]*policies.Policy{testPolicy(t, m, r)})
	env := &manifest.Envelope{PayloadType: "application/x-test", Payload: []byte("x")}
	for _, s := range []signer.Signer{gone, m, r} {
		if err := env.Sign(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	junk := manifest.Signature{KeyID: r.Public().ID(), Sig: []byte{1}}
	env.Signatures = append([]manifest.Signature{junk}, append(env.Signatures, env.Signatures[1])...)
	b, _ := env.Marshal()
	b = append(b, '\n') // not canonical: Admit refuses it, the index reads it
	cl, ok := a.LoggedClaim(b)
	want := []string{m.Public().ID(), r.Public().ID()}
	if want[0] > want[1] {
		want[0], want[1] = want[1], want[0]
	}
	if !ok || !equal(cl.Keys, want) {
		t.Fatalf("LoggedClaim: %v %q, want the two served keys", ok, cl.Keys)
	}
	if _, ok := a.LoggedClaim([]byte("not json")); ok {
		t.Error("garbage: claimed")
	}
}
