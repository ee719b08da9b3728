package smp

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"math/big"
	"slices"
	"testing"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
	"ssms.dev/ssms/signer"
)

// fakeRSA is an RSA key of the given size with a random odd modulus, as
// good as a real one for what verification costs.
func fakeRSA(bits int) *PublicKey {
	b := make([]byte, bits/8)
	rand.Read(b)
	b[0] |= 0x80
	b[len(b)-1] |= 1
	return &PublicKey{rsa: &rsa.PublicKey{N: new(big.Int).SetBytes(b), E: rsaExponent}}
}

// kind names the work a key does: its type and signature size.
func kind(k *PublicKey) string {
	switch {
	case k == nil:
		return "none"
	case k.rsa != nil:
		return "rsa-" + big.NewInt(int64(k.rsa.N.BitLen())).String()
	}
	return "ed25519"
}

// TestVerifyWorkByLength is the structural half of the timing property:
// for every signature length, Verify works against a key of the same type
// and size whatever the queue's key is, and with no key at all. (The
// server's tests measure the time.)
func TestVerifyWorkByLength(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	keys := []*PublicKey{nil, {ed25519: voi.PublicKey(pub)}, fakeRSA(2048), fakeRSA(3072), fakeRSA(4096)}
	for _, n := range []int{0, 1, 32, 63, 64, 65, 128, 255, 256, 257, 383, 384, 385, 511, 512, 513, 1024} {
		want := kind(workKey(nil, n))
		for _, k := range keys {
			if got := kind(workKey(k, n)); got != want {
				t.Errorf("signature of %d bytes, key %s: works against %s, without a key against %s", n, kind(k), got, want)
			}
		}
	}
	for n, want := range map[int]string{64: "ed25519", 256: "rsa-2048", 384: "rsa-3072", 512: "rsa-4096", 100: "none"} {
		if got := kind(workKey(nil, n)); got != want {
			t.Errorf("signature of %d bytes: dummy %s, want %s", n, got, want)
		}
	}
}

func TestVerifyRSA(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sk, _ := signer.NewPublicKey(&priv.PublicKey)
	k, err := NewKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("AAAAAAAAAAAAAAAAAAAAAA==\nSUB")
	h := sha256.Sum256(msg)
	sig, _ := rsa.SignPSS(rand.Reader, priv, crypto.SHA256, h[:], pss)
	if !Verify(k, msg, sig) {
		t.Fatal("a good RSA-PSS signature does not verify")
	}
	for name, bad := range map[string][]byte{
		"another message": nil,
		"all ones":        bytesOf(0xff, 256), // above the modulus
		"short":           sig[1:],
	} {
		m, s := msg, bad
		if bad == nil {
			m, s = append(msg, '\n'), sig
		}
		if Verify(k, m, s) {
			t.Errorf("%s: verifies", name)
		}
	}
	if Verify(nil, msg, sig) || Verify(dummyKeys[256], msg, sig) {
		t.Error("a signature verifies without its key")
	}
}

func bytesOf(b byte, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

// TestWeakKeysRefused: every key that enters SMP is checked (issue 12,
// item 7): the identity point as an Ed25519 key admits one signature valid
// for every message, and short RSA keys are forgeable.
func TestWeakKeysRefused(t *testing.T) {
	identity := make([]byte, 32)
	identity[0] = 1
	rsaDER := func(bits, e int) []byte {
		k := fakeRSA(bits).rsa
		k.E = e
		der, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	edDER, _ := x509.MarshalPKIXPublicKey(ed25519.PublicKey(identity))
	for name, der := range map[string][]byte{
		"ed25519 identity":   edDER,
		"rsa 1024":           rsaDER(1024, 65537),
		"rsa 2056":           rsaDER(2056, 65537), // a size no dummy key stands in for
		"rsa 8192":           rsaDER(8192, 65537),
		"rsa exponent 3":     rsaDER(2048, 3),
		"rsa exponent 65539": rsaDER(2048, 65539),
	} {
		if _, err := ParseKey(base64.StdEncoding.EncodeToString(der)); AsError(err) != Syntax(SyntaxBadParameters) {
			t.Errorf("%s: ParseKey gave %v, want ERR SYNTAX 2", name, err)
		}
		if sk, err := signer.ParsePublicKeyDER(der); err == nil {
			if _, err := NewKey(sk); err == nil {
				t.Errorf("%s: NewKey accepted it", name)
			}
		}
	}
	for _, u := range []byte{0, 1} { // u = 0 and u = 1 have small order
		raw := make([]byte, 32)
		raw[0] = u
		pub, _ := ecdh.X25519().NewPublicKey(raw)
		der, _ := x509.MarshalPKIXPublicKey(pub)
		if _, err := ParseDHKey(base64.StdEncoding.EncodeToString(der)); AsError(err) != Syntax(SyntaxBadParameters) {
			t.Errorf("X25519 u = %d: ParseDHKey gave %v, want ERR SYNTAX 2", u, err)
		}
	}
	good, _, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(good)
	if _, err := ParseKey(base64.StdEncoding.EncodeToString(der)); err != nil {
		t.Errorf("a generated Ed25519 key: %v", err)
	}
	if _, err := ParseKey(base64.StdEncoding.EncodeToString(rsaDER(3072, 65537))); err != nil {
		t.Errorf("an RSA-3072 key: %v", err)
	}
}

// TestAttackNonCanonicalX25519: X25519 ignores bit 255 and reduces u mod
// p, so a key with the top bit set, or u + p, is the same key as u; it
// was accepted, giving one key (and so one invitation) two encodings.
func TestAttackNonCanonicalX25519(t *testing.T) {
	le := func(n *big.Int) []byte { // 32 bytes, little-endian
		b := n.FillBytes(make([]byte, 32))
		slices.Reverse(b)
		return b
	}
	p := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	priv, _ := ecdh.X25519().GenerateKey(rand.Reader)
	good := priv.PublicKey().Bytes()
	top := slices.Clone(good)
	top[31] |= 0x80
	plusP := le(new(big.Int).Add(big.NewInt(9), p)) // the base point, u = 9, plus p
	for _, tt := range []struct {
		name string
		u    []byte
		ok   bool
	}{
		{"generated", good, true},
		{"u = 9", le(big.NewInt(9)), true},
		{"top bit set", top, false},
		{"9 + p", plusP, false},
	} {
		pub, err := ecdh.X25519().NewPublicKey(tt.u)
		if err != nil {
			t.Fatal(err)
		}
		der, _ := x509.MarshalPKIXPublicKey(pub)
		if _, err := ParseDHKey(base64.StdEncoding.EncodeToString(der)); (err == nil) != tt.ok {
			t.Errorf("%s: ParseDHKey gave %v", tt.name, err)
		}
	}
	for _, tt := range []struct {
		u    *big.Int
		want bool
	}{
		{new(big.Int).Sub(p, big.NewInt(1)), true}, {p, false}, {new(big.Int).Add(p, big.NewInt(1)), false},
		{new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(1)), false},
	} {
		if got := canonicalX25519(le(tt.u)); got != tt.want {
			t.Errorf("canonicalX25519(%v) = %v", tt.u, got)
		}
	}
}
