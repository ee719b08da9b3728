package policies

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/signer"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

type maintainer struct {
	name string
	s    signer.Signer
}

func maintainers(t testing.TB, names ...string) []maintainer {
	t.Helper()
	var ms []maintainer
	for _, n := range names {
		priv, err := signer.Generate(signer.Ed25519)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := signer.NewKeySigner(priv)
		ms = append(ms, maintainer{n, s})
	}
	return ms
}

func newPolicy(t testing.TB, version uint64, ms []maintainer, release, rollback, policy int) *Policy {
	t.Helper()
	p := &Policy{
		Version: version, Expires: "2027-01-01T00:00:00Z", Products: []string{"smp-client", "smp-server"},
		Maintainers:      Maintainers{Thresholds: Thresholds{Release: release, Rollback: rollback, Policy: policy}},
		Rebuilders:       Rebuilders{Keys: []Key{}},
		Logs:             []Log{},
		Witnesses:        Witnesses{VKeys: []string{}},
		MaxCheckpointAge: "168h0m0s", MinLogAge: "0s",
	}
	for _, m := range ms {
		p.Maintainers.Keys = append(p.Maintainers.Keys, NewKey(m.name, m.s.Public()))
	}
	return p
}

func envelope(t testing.TB, p *Policy, signers ...maintainer) *manifest.Envelope {
	t.Helper()
	payload, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	env := &manifest.Envelope{PayloadType: PayloadType, Payload: payload}
	for _, m := range signers {
		if err := env.Sign(context.Background(), m.s); err != nil {
			t.Fatal(err)
		}
	}
	return env
}

// releaseEnvelope is an unsigned release of product under p.
func releaseEnvelope(t testing.TB, p *Policy, product, typ string) *manifest.Envelope {
	t.Helper()
	st, err := manifest.NewRelease([]manifest.Subject{{Name: "a", Digest: manifest.Digest{SHA256: strings.Repeat("0", 64)}}}, manifest.ReleasePredicate{
		Product: product, Version: "1.0.0", Sequence: 2, Type: typ, Released: "2026-11-22T00:00:00Z",
		Source: manifest.Source{URI: "https://x.org/a.git", Commit: strings.Repeat("a", 40)}, Policy: p.Digest(),
	})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := manifest.MarshalRelease(st)
	if err != nil {
		t.Fatal(err)
	}
	return &manifest.Envelope{PayloadType: manifest.PayloadType, Payload: payload}
}

func TestVerifyRoot(t *testing.T) {
	ms := maintainers(t, "alice", "bob", "carol")
	p := newPolicy(t, 1, ms, 2, 3, 2)
	if _, err := VerifyRoot(envelope(t, p, ms[0], ms[1]), now); err != nil {
		t.Fatalf("2 of 3: %v", err)
	}
	_, err := VerifyRoot(envelope(t, p, ms[2]), now)
	var te *ThresholdError
	if !errors.As(err, &te) || te.Have != 1 || te.Need != 2 || strings.Join(te.Missing, ",") != "alice,bob" {
		t.Fatalf("1 of 3: err = %v, want a threshold error naming alice and bob", err)
	}
	if _, err := VerifyRoot(envelope(t, p, ms[0], ms[1]), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)); !errors.Is(err, ErrExpired) {
		t.Fatalf("at expiry: err = %v, want ErrExpired", err)
	}
	// The same signature twice, once without its key ID, is one key.
	env := envelope(t, p, ms[0])
	env.Signatures = append(env.Signatures, manifest.Signature{Sig: env.Signatures[0].Sig})
	if _, err := VerifyRoot(env, now); !errors.Is(err, ErrThreshold) {
		t.Fatalf("one key signing twice counted twice: %v", err)
	}
}

func TestThresholdPerAction(t *testing.T) {
	ms := maintainers(t, "alice", "bob", "carol")
	p := newPolicy(t, 1, ms, 2, 3, 2)
	for _, tt := range []struct {
		typ     string
		signers []maintainer
		ok      bool
	}{
		{manifest.TypeRelease, ms[:2], true},
		{manifest.TypeRelease, ms[:1], false},
		{manifest.TypeRollback, ms[:2], false},
		{manifest.TypeRollback, ms, true},
	} {
		env := releaseEnvelope(t, p, "smp-server", tt.typ)
		for _, m := range tt.signers {
			env.Sign(context.Background(), m.s)
		}
		_, ap, err := p.CheckRelease(env)
		if tt.ok != (err == nil) {
			t.Errorf("%s signed by %d: err = %v", tt.typ, len(tt.signers), err)
		}
		if err == nil && len(ap.Signers) != len(tt.signers) {
			t.Errorf("approval lists %v", ap.Signers)
		}
	}
}

func TestCheckReleaseProduct(t *testing.T) {
	ms := maintainers(t, "alice")
	p := newPolicy(t, 1, ms, 1, 1, 1)
	env := releaseEnvelope(t, p, "other", manifest.TypeRelease)
	env.Sign(context.Background(), ms[0].s)
	if _, _, err := p.CheckRelease(env); !errors.Is(err, ErrProduct) {
		t.Fatalf("err = %v, want ErrProduct", err)
	}
	env.PayloadType = PayloadType
	if _, _, err := p.CheckRelease(env); !errors.Is(err, ErrPayloadType) {
		t.Fatalf("policy passed off as a release: err = %v", err)
	}
}

func TestRotation(t *testing.T) {
	ms := maintainers(t, "alice", "bob", "carol", "dave")
	alice, bob, carol, dave := ms[0], ms[1], ms[2], ms[3]
	v1 := newPolicy(t, 1, ms[:3], 2, 2, 2)                    // alice, bob, carol
	v2 := newPolicy(t, 2, []maintainer{carol, dave}, 2, 2, 2) // carol, dave
	root, err := VerifyRoot(envelope(t, v1, alice, bob), now)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		next    *Policy
		signers []maintainer
		want    error
	}{
		{"old and new thresholds", v2, []maintainer{alice, carol, dave}, nil},
		{"only the new maintainers", v2, []maintainer{carol, dave}, ErrThreshold},
		{"only the old maintainers", v2, []maintainer{alice, bob}, ErrThreshold},
		{"version skipped", newPolicy(t, 3, []maintainer{carol, dave}, 2, 2, 2), []maintainer{alice, bob, carol, dave}, ErrNotNext},
		{"version repeated", newPolicy(t, 1, []maintainer{carol, dave}, 2, 2, 2), []maintainer{alice, bob, carol, dave}, ErrNotNext},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := VerifyNext(root, envelope(t, tt.next, tt.signers...))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	// A chain: v1 → v2 → v3, where v1's maintainers are gone by v3.
	v3 := newPolicy(t, 3, []maintainer{dave}, 1, 1, 1)
	chain := []*manifest.Envelope{envelope(t, v2, alice, bob, carol, dave), envelope(t, v3, carol, dave)}
	last, err := VerifyChain(root, chain, now)
	if err != nil || last.Version != 3 {
		t.Fatalf("chain: %v", err)
	}
	// Truncating the chain (dropping v2) breaks it.
	if _, err := VerifyChain(root, chain[1:], now); !errors.Is(err, ErrNotNext) {
		t.Fatalf("truncated chain: err = %v, want ErrNotNext", err)
	}
	// Expired intermediate policies are fine; an expired last one is not.
	if _, err := VerifyChain(root, chain, time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired chain: err = %v", err)
	}
}

func TestPolicyCheckErrors(t *testing.T) {
	ms := maintainers(t, "alice", "bob")
	_, logVKey, _ := note.GenerateKey(nil, "log.example.org")
	tests := []struct {
		name string
		edit func(p *Policy)
		want string
	}{
		{"version 0", func(p *Policy) { p.Version = 0 }, "version"},
		{"threshold 0", func(p *Policy) { p.Maintainers.Thresholds.Release = 0 }, "maintainers.thresholds.release"},
		{"threshold > n", func(p *Policy) { p.Maintainers.Thresholds.Policy = 3 }, "maintainers.thresholds.policy"},
		{"no products", func(p *Policy) { p.Products = nil }, "products"},
		{"unsorted products", func(p *Policy) { p.Products = []string{"b", "a"} }, "products[1]"},
		{"same key twice", func(p *Policy) { p.Maintainers.Keys[1] = p.Maintainers.Keys[0]; p.Maintainers.Keys[1].Name = "x" }, "already in the policy"},
		{"same name twice", func(p *Policy) { p.Maintainers.Keys[1].Name = "alice" }, "used twice"},
		{"wrong key id", func(p *Policy) { p.Maintainers.Keys[0].ID = strings.Repeat("0", 64) }, "maintainers.keys[0].id"},
		{"bad key", func(p *Policy) { p.Maintainers.Keys[0].PublicKey = "x" }, "maintainers.keys[0].publicKey"},
		{"maintainer as rebuilder", func(p *Policy) { p.Rebuilders.Keys = []Key{p.Maintainers.Keys[0]} }, "already in the policy"},
		{"rebuild threshold", func(p *Policy) { p.Rebuilders.Threshold = 1 }, "rebuilders.threshold"},
		{"log origin", func(p *Policy) { p.Logs = []Log{{Origin: "other", VKey: logVKey}} }, "logs[0].origin"},
		{"log vkey hash", func(p *Policy) {
			p.Logs = []Log{{Origin: "log.example.org", VKey: strings.Replace(logVKey, "+", "+0", 1)[:len(logVKey)]}}
		}, "logs[0].vkey"},
		{"log url", func(p *Policy) { p.Logs = []Log{{Origin: "log.example.org", VKey: logVKey, URL: "ftp://x"}} }, "logs[0].url"},
		{"quorum", func(p *Policy) { p.Witnesses.Quorum = 1 }, "witnesses.quorum"},
		{"witness key not cosignature/v1", func(p *Policy) { p.Witnesses.VKeys = []string{logVKey} }, "witnesses.vkeys[0]"},
		{"duration form", func(p *Policy) { p.MaxCheckpointAge = "168h" }, "maxCheckpointAge"},
		{"negative age", func(p *Policy) { p.MinLogAge = "-1s" }, "minLogAge"},
		{"expires", func(p *Policy) { p.Expires = "tomorrow" }, "expires"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPolicy(t, 1, ms, 1, 1, 1)
			tt.edit(p)
			_, err := p.Marshal()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to name %q", err, tt.want)
			}
		})
	}
}

// TestVKeys checks vkey parsing against keys made by x/mod's note package.
func TestVKeys(t *testing.T) {
	_, vkey, err := note.GenerateKey(nil, "witness.example")
	if err != nil {
		t.Fatal(err)
	}
	if name, err := ParseVKey(vkey, algEd25519); err != nil || name != "witness.example" {
		t.Fatalf("ParseVKey(%s) = %q, %v", vkey, name, err)
	}
	if _, err := ParseVKey(vkey, algCosignatureV1); err == nil {
		t.Fatal("an Ed25519 note key accepted where only cosignature keys are")
	}
	for _, bad := range []string{"", "a+b", "a+0000000+AQ==", vkey + "x", strings.Replace(vkey, "witness", "witnesz", 1)} {
		if _, err := ParseVKey(bad, algEd25519); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestEmbeddedProjectPolicy(t *testing.T) {
	p, err := Default(time.Now())
	if err != nil {
		t.Fatalf("the embedded project policy does not verify as a root (expired? rotate it): %v", err)
	}
	for _, product := range []string{"smp-server", "smp-client"} {
		if !p.AllowsProduct(product) {
			t.Errorf("project policy does not cover %s", product)
		}
	}
	if exp, _ := manifest.ParseTime(p.Expires); time.Until(exp) < 90*24*time.Hour {
		t.Errorf("project policy expires at %s, in less than 90 days: rotate it", p.Expires)
	}
}

func FuzzParsePolicy(f *testing.F) {
	ms := maintainers(f, "alice", "bob")
	good, _ := newPolicy(f, 1, ms, 1, 2, 2).Marshal()
	f.Add(good)
	f.Add([]byte(`{"version":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePolicy(data)
		if err != nil {
			return
		}
		out, err := p.Marshal()
		if err != nil || !bytes.Equal(out, data) {
			t.Fatalf("parse → marshal changed the bytes (%v)", err)
		}
	})
}

func FuzzParseVKey(f *testing.F) {
	_, vkey, _ := note.GenerateKey(nil, "log.example")
	f.Add(vkey)
	f.Add("a+00000000+AQ==")
	f.Fuzz(func(t *testing.T, vkey string) {
		name, err := ParseVKey(vkey, algEd25519)
		if err != nil {
			return
		}
		// Whatever we accept, x/mod's note package accepts too.
		v, err := note.NewVerifier(vkey)
		if err != nil || v.Name() != name {
			t.Fatalf("accepted %q, which sumdb/note rejects: %v", vkey, err)
		}
	})
}

func TestLogVKey(t *testing.T) {
	p := &Policy{Logs: []Log{{Origin: "a", VKey: "a+1+x", URL: "http://a.example/log/"}, {Origin: "b", VKey: "b+2+y"}}}
	for url, want := range map[string]string{
		"http://a.example/log":  "a+1+x",
		"http://a.example/log/": "a+1+x",
		"http://b.example":      "",
		"":                      "", // a log without a URL is found by none
	} {
		if got := p.LogVKey(url); got != want {
			t.Errorf("LogVKey(%q) = %q, want %q", url, got, want)
		}
	}
}
