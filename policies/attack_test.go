package policies

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"

	"ssms.dev/ssms/manifest"
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
