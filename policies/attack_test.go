package policies

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/signer"
)

// identity is the Ed25519 identity point in its four encodings.
var identity = []string{
	"0100000000000000000000000000000000000000000000000000000000000000",
	"0100000000000000000000000000000000000000000000000000000000000080",
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
}

// constantSig is R = B, S = 1: it verifies under the identity key, in any
// encoding, for every message.
var constantSig, _ = hex.DecodeString("5866666666666666666666666666666666666666666666666666666666666666" +
	"0100000000000000000000000000000000000000000000000000000000000000")

// rawKey makes a policy key entry from raw Ed25519 bytes, bypassing the
// signer package (which would refuse a weak key).
func rawKey(t *testing.T, name string, pub []byte) Key {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(ed25519.PublicKey(pub))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	return Key{Name: name, ID: hex.EncodeToString(sum[:]), PublicKey: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}
}

// TestAttackWeakMaintainerKeys: the identity point in four encodings, as
// four maintainers, and one constant signature copied under two of their
// key IDs would meet a release threshold of 2 for any release.
func TestAttackWeakMaintainerKeys(t *testing.T) {
	p := newPolicy(t, 1, nil, 2, 2, 2)
	for i, h := range identity {
		pub, _ := hex.DecodeString(h)
		p.Maintainers.Keys = append(p.Maintainers.Keys, rawKey(t, fmt.Sprintf("m%d", i), pub))
	}
	payload, err := p.Marshal()
	if err == nil {
		env := releaseEnvelope(t, p, "smp-server", manifest.TypeRelease)
		for _, k := range p.Maintainers.Keys[:2] {
			env.Signatures = append(env.Signatures, manifest.Signature{KeyID: k.ID, Sig: constantSig})
		}
		p, _ = ParsePolicy(payload)
		_, _, aerr := p.CheckRelease(env)
		t.Fatalf("a policy of four weak keys was accepted; a constant forgery then gives: %v", aerr)
	}
	if !strings.Contains(err.Error(), "maintainers.keys[0].publicKey") {
		t.Errorf("err = %v; want it to name the key", err)
	}
}

// TestAttackOneKeyRotatesPolicy: release 3, rollback 1, policy 1 would let
// one maintainer rotate the policy to a version listing only itself, and
// then sign any release. Rollback and policy thresholds must be at least
// the release threshold, whenever a policy is made or parsed.
func TestAttackOneKeyRotatesPolicy(t *testing.T) {
	ms := maintainers(t, "alice", "bob", "carol")
	p1 := newPolicy(t, 1, ms, 3, 1, 1)
	payload, err := p1.Marshal()
	if err == nil {
		p1, _ = ParsePolicy(payload)
		p2 := newPolicy(t, 2, ms[:1], 1, 1, 1)
		_, rot, err := VerifyNext(p1, envelope(t, p2, ms[0]))
		t.Fatalf("release 3, policy 1 accepted; alice alone then rotated the policy: %+v, %v", rot, err)
	}
	if !strings.Contains(err.Error(), "maintainers.thresholds.rollback") {
		t.Errorf("err = %v", err)
	}
	if _, err := newPolicy(t, 1, ms, 3, 3, 2).Marshal(); err == nil || !strings.Contains(err.Error(), "maintainers.thresholds.policy") {
		t.Errorf("policy threshold 2 under release 3: err = %v", err)
	}
	if _, err := newPolicy(t, 1, ms, 2, 3, 3).Marshal(); err != nil {
		t.Errorf("higher rollback and policy thresholds: %v", err)
	}
}

// TestAttackSameKeyTwice: one key under two names, in one role or across
// roles, and whatever its encoding (PEM, a log vkey, a witness vkey), must
// not enter a policy: thresholds and quorums would count it twice.
func TestAttackSameKeyTwice(t *testing.T) {
	ms := maintainers(t, "alice", "bob")
	alice := ms[0].s.Public().Crypto().(ed25519.PublicKey)
	other, _, _ := ed25519.GenerateKey(nil)
	vkOf := func(raw ed25519.PublicKey, name string, alg byte) string {
		key := append([]byte{alg}, raw...)
		h := sha256.Sum256(append([]byte(name+"\n"), key...))
		return fmt.Sprintf("%s+%x+%s", name, h[:4], base64.StdEncoding.EncodeToString(key))
	}
	vk := func(name string, alg byte) string { return vkOf(alice, name, alg) }
	wk := func(name string, alg byte) string { return vkOf(other, name, alg) }
	tests := []struct {
		name  string
		edit  func(p *Policy)
		field string
	}{
		{"witness under two names", func(p *Policy) { p.Witnesses.VKeys = []string{wk("w1", algCosignatureV1), wk("w2", algCosignatureV1)} }, "witnesses.vkeys[1]"},
		{"maintainer as witness", func(p *Policy) { p.Witnesses.VKeys = []string{vk("w1", algCosignatureV1)} }, "witnesses.vkeys[0]"},
		{"maintainer as log", func(p *Policy) { p.Logs = []Log{{Origin: "log.example", VKey: vk("log.example", algEd25519)}} }, "logs[0].vkey"},
		{"log as witness", func(p *Policy) {
			p.Maintainers.Keys = p.Maintainers.Keys[1:]
			p.Logs = []Log{{Origin: "log.example", VKey: vk("log.example", algEd25519)}}
			p.Witnesses.VKeys = []string{vk("w1", algCosignatureV1)}
		}, "witnesses.vkeys[0]"},
		{"maintainer as rebuilder, renamed", func(p *Policy) { p.Rebuilders.Keys = []Key{NewKey("builder", ms[0].s.Public())} }, "rebuilders.keys[0]"},
	}
	for _, tt := range tests {
		p := newPolicy(t, 1, ms, 1, 1, 1)
		tt.edit(p)
		_, err := p.Marshal()
		if err == nil || !strings.Contains(err.Error(), tt.field+": ") || !strings.Contains(err.Error(), "already in the policy") {
			t.Errorf("%s: err = %v; want %s refused as a repeated key", tt.name, err, tt.field)
		}
	}
}

// TestAttackSameRSAModulus: one RSA modulus with exponents 65537 and 65539
// is two DER encodings but one secret (the factors), and a 2-of-2 release
// verified with it. A modulus appears once in a policy.
func TestAttackSameRSAModulus(t *testing.T) {
	ms := maintainers(t, "alice")
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	k1, err := signer.NewPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := signer.NewPublicKey(&rsa.PublicKey{N: priv.N, E: 65539})
	if err != nil {
		t.Fatalf("the second exponent is itself acceptable, so the test needs it: %v", err)
	}
	p := newPolicy(t, 1, ms, 1, 1, 1)
	p.Maintainers.Keys = []Key{NewKey("rsa-a", k1), NewKey("rsa-b", k2)}
	p.Maintainers.Thresholds = Thresholds{Release: 2, Rollback: 2, Policy: 2}
	if _, err := p.Marshal(); err == nil || !strings.Contains(err.Error(), "already in the policy") {
		t.Fatalf("err = %v; want the second key refused as the same modulus", err)
	}
}
