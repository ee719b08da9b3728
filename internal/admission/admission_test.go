package admission

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/signer"
	"ssms.dev/ssms/translog"
)

func gen(t testing.TB, alg signer.Algorithm) signer.Signer {
	t.Helper()
	priv, err := signer.Generate(alg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signer.NewKeySigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testPolicy(t testing.TB, maint, rebuilder signer.Signer) *policies.Policy {
	p := &policies.Policy{
		Version: 1, Expires: manifest.FormatTime(time.Now().Add(time.Hour)), Products: []string{"demo"},
		Maintainers: policies.Maintainers{Keys: []policies.Key{policies.NewKey("m", maint.Public())}, Thresholds: policies.Thresholds{Release: 1, Rollback: 1, Policy: 1}},
		Rebuilders:  policies.Rebuilders{Keys: []policies.Key{policies.NewKey("r", rebuilder.Public())}, Threshold: 1},
		Logs:        []policies.Log{}, Witnesses: policies.Witnesses{VKeys: []string{}},
		MaxCheckpointAge: "1h0m0s", MinLogAge: "0s",
	}
	if _, err := p.Marshal(); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAdmit(t *testing.T) {
	ctx := context.Background()
	maint, rebuilder, outsider := gen(t, signer.Ed25519), gen(t, signer.ECDSAP256), gen(t, signer.Ed25519)
	a := New([]*policies.Policy{testPolicy(t, maint, rebuilder)})
	signed := func(signers ...signer.Signer) *manifest.Envelope {
		env := &manifest.Envelope{PayloadType: "application/x-test", Payload: []byte("x")}
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
	edit := func(env *manifest.Envelope, f func(*manifest.Envelope)) []byte {
		f(env)
		return marshal(env)
	}
	var notCanonical = manifest.ErrNotCanonical
	for name, tt := range map[string]struct {
		entry []byte
		want  error
	}{
		"maintainer":           {marshal(signed(maint)), nil},
		"rebuilder":            {marshal(signed(rebuilder)), nil},
		"both":                 {marshal(signed(maint, rebuilder)), nil},
		"outsider":             {marshal(signed(outsider)), translog.ErrNotAdmitted},
		"outsider added":       {marshal(signed(maint, outsider)), translog.ErrNotAdmitted},
		"unsigned":             {marshal(signed()), translog.ErrNotAdmitted},
		"compact":              {bytes.ReplaceAll(bytes.ReplaceAll(marshal(signed(maint)), []byte("\n"), nil), []byte("  "), nil), notCanonical},
		"extra white space":    {append(marshal(signed(maint)), '\n'), notCanonical},
		"no key ID":            {edit(signed(maint), func(e *manifest.Envelope) { e.Signatures[0].KeyID = "" }), translog.ErrNotAdmitted},
		"other key ID hint":    {edit(signed(maint), func(e *manifest.Envelope) { e.Signatures[0].KeyID = "SHA256:abc" }), translog.ErrNotAdmitted},
		"hint names other key": {edit(signed(maint), func(e *manifest.Envelope) { e.Signatures[0].KeyID = rebuilder.Public().ID() }), translog.ErrNotAdmitted},
		"junk extra signature": {edit(signed(maint), func(e *manifest.Envelope) {
			e.Signatures = append(e.Signatures, manifest.Signature{KeyID: rebuilder.Public().ID(), Sig: []byte{1}})
		}), translog.ErrNotAdmitted},
		"same key twice":        {edit(signed(maint), func(e *manifest.Envelope) { e.Signatures = append(e.Signatures, e.Signatures[0]) }), translog.ErrNotAdmitted},
		"signature of another":  {edit(signed(maint), func(e *manifest.Envelope) { e.Payload = []byte("y") }), translog.ErrNotAdmitted},
		"payload type switched": {edit(signed(maint), func(e *manifest.Envelope) { e.PayloadType = "application/x-other" }), translog.ErrNotAdmitted},
	} {
		_, err := a.Admit(tt.entry)
		if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("%s: err = %v, want %v", name, err, tt.want)
		}
	}
	if _, err := a.Admit([]byte("not json")); err == nil || errors.Is(err, translog.ErrNotAdmitted) {
		t.Errorf("garbage: err = %v, want a parse error", err)
	}
}

// TestClaim checks what makes two envelopes the same entry: the payload
// type, the payload and the set of signing keys, whatever the signature
// bytes (ECDSA signs differently every time) and their order.
func TestClaim(t *testing.T) {
	ctx := context.Background()
	maint, rebuilder := gen(t, signer.ECDSAP256), gen(t, signer.Ed25519)
	a := New([]*policies.Policy{testPolicy(t, maint, rebuilder)})
	claim := func(payloadType, payload string, signers ...signer.Signer) translog.Claim {
		env := &manifest.Envelope{PayloadType: payloadType, Payload: []byte(payload)}
		for _, s := range signers {
			if err := env.Sign(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		b, _ := env.Marshal()
		c, err := a.Admit(b)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	first := claim("application/x-test", "x", maint, rebuilder)
	if again := claim("application/x-test", "x", rebuilder, maint); again.Subject != first.Subject || !equal(again.Keys, first.Keys) {
		t.Error("re-signed in another order: another claim")
	}
	if len(first.Keys) != 2 || first.Keys[0] > first.Keys[1] {
		t.Errorf("keys %q: want both, sorted", first.Keys)
	}
	if c := claim("application/x-test", "x", maint); c.Subject != first.Subject || len(c.Keys) != 1 {
		t.Error("fewer signers: want the same subject with one key")
	}
	if c := claim("application/x-test", "y", maint); c.Subject == first.Subject {
		t.Error("another payload: same subject")
	}
	if c := claim("application/x-tes", "tx", maint); c.Subject == first.Subject {
		t.Error("payload type and payload shifted: same subject")
	}
}

func equal(a, b []string) bool { return slices.Equal(a, b) }

// BenchmarkAdmit admits a release-sized envelope with two signatures: the
// cost of every POST /add, and per entry of the index a log rebuilds as it
// starts.
func BenchmarkAdmit(b *testing.B) {
	ctx := context.Background()
	m, r := gen(b, signer.Ed25519), gen(b, signer.Ed25519)
	a := New([]*policies.Policy{testPolicy(b, m, r)})
	env := &manifest.Envelope{PayloadType: manifest.PayloadType, Payload: bytes.Repeat([]byte("x"), 700)}
	env.Sign(ctx, m)
	env.Sign(ctx, r)
	entry, _ := env.Marshal()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Admit(entry); err != nil {
			b.Fatal(err)
		}
	}
}
