package smp

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"testing"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
	"ssms.dev/ssms/signer"
)

func ed25519Key(t testing.TB, pub ed25519.PublicKey) *PublicKey {
	t.Helper()
	sk, err := signer.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	k, err := NewKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// oddPoints are encodings where Ed25519 implementations disagree, after
// "Taming the many EdDSAs" (Chalkias et al., 2020): the points of small
// order, and y ≥ p (non-canonical).
var oddPoints = []string{
	"0100000000000000000000000000000000000000000000000000000000000000", // identity
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // order 2
	"0000000000000000000000000000000000000000000000000000000000000000", // order 4
	"0000000000000000000000000000000000000000000000000000000000000080", // order 4, sign bit set
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // order 8
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = p
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = p + 1
	"0100000000000000000000000000000000000000000000000000000000000080", // identity, sign bit set
}

// order is ℓ, the order of the base point, little-endian as in signatures.
var order, _ = hex.DecodeString("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")

// oddCases pairs the odd points as keys and as R with the scalars S = 0,
// S = 1 and S = ℓ (out of range).
func oddCases() (pubs, sigs [][]byte) {
	for _, a := range oddPoints {
		for _, r := range oddPoints {
			for _, sc := range [][]byte{make([]byte, 32), append([]byte{1}, make([]byte, 31)...), order} {
				p, _ := hex.DecodeString(a)
				rb, _ := hex.DecodeString(r)
				pubs, sigs = append(pubs, p), append(sigs, append(rb, sc...))
			}
		}
	}
	return pubs, sigs
}

func agrees(t *testing.T, pub ed25519.PublicKey, msg, sig []byte) {
	t.Helper()
	want := ed25519.Verify(pub, msg, sig)
	// The key as the server would hold it, had it passed the weak-key
	// check: this compares the verification alone.
	if got := Verify(&PublicKey{ed25519: voi.PublicKey(pub)}, msg, sig); got != want {
		t.Fatalf("pub %x sig %x: server verification says %v, crypto/ed25519 says %v", pub, sig, got, want)
	}
}

func TestEd25519VerifyMatchesStdlib(t *testing.T) {
	msg := []byte("AAAAAAAAAAAAAAAAAAAAAA==\nACK")
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	sig := ed25519.Sign(priv, msg)
	if !ed25519Key(t, pub).Verify(msg, sig) {
		t.Fatal("a good signature does not verify")
	}
	for i := range len(sig) * 8 { // every single-bit change of the signature
		bad := append([]byte(nil), sig...)
		bad[i/8] ^= 1 << (i % 8)
		agrees(t, pub, msg, bad)
	}
	agrees(t, pub, append(msg, '\n'), sig)
	agrees(t, pub, msg, sig[:63])
	agrees(t, pub, msg, nil)
	pubs, sigs := oddCases()
	for i := range pubs {
		agrees(t, pubs[i], msg, sigs[i])
		agrees(t, pubs[i], nil, sigs[i])
	}
	// A valid signature with S + ℓ in place of S: crypto/ed25519 refuses it.
	var carry uint16
	malleable := append([]byte(nil), sig...)
	for i := range 32 {
		carry += uint16(malleable[32+i]) + uint16(order[i])
		malleable[32+i], carry = byte(carry), carry>>8
	}
	agrees(t, pub, msg, malleable)
}

// FuzzEd25519VerifyMatchesStdlib: whatever the key, message and signature,
// the server's verification agrees with crypto/ed25519.
func FuzzEd25519VerifyMatchesStdlib(f *testing.F) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	msg := []byte("x\nSEND :hello")
	f.Add([]byte(pub), msg, ed25519.Sign(priv, msg))
	pubs, sigs := oddCases()
	for i := range pubs {
		f.Add(pubs[i], msg, sigs[i])
	}
	f.Fuzz(func(t *testing.T, pub, msg, sig []byte) {
		if len(pub) != ed25519.PublicKeySize {
			return
		}
		agrees(t, pub, msg, sig)
	})
}

// BenchmarkVerify: the server's Ed25519 check against crypto/ed25519's in
// the same run.
func BenchmarkVerify(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	msg := make([]byte, 400)
	sig := ed25519.Sign(priv, msg)
	b.Run("crypto-ed25519", func(b *testing.B) {
		for b.Loop() {
			ed25519.Verify(pub, msg, sig)
		}
	})
	k := ed25519Key(b, pub)
	b.Run("smp", func(b *testing.B) {
		for b.Loop() {
			k.Verify(msg, sig)
		}
	})
}
