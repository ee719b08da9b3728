package keycheck

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/oasisprotocol/curve25519-voi/curve"
	"github.com/oasisprotocol/curve25519-voi/curve/scalar"
)

// The eight points of small order in their canonical encodings, and the
// non-canonical encodings of small-order points (from "Taming the many
// EdDSAs", Chalkias et al., table 6 and section 5.1).
var smallOrder = []string{
	"0100000000000000000000000000000000000000000000000000000000000000", // identity
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // order 2
	"0000000000000000000000000000000000000000000000000000000000000000", // order 4
	"0000000000000000000000000000000000000000000000000000000000000080",
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
}

var nonCanonical = []string{
	"0100000000000000000000000000000000000000000000000000000000000080", // identity, x = 0 with the sign bit
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // identity as y = p + 1
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", // and with the sign bit
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = p, i.e. y = 0 (order 4)
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", // order 2 with the sign bit
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEd25519RefusesWeakKeys(t *testing.T) {
	for _, h := range smallOrder {
		if err := Ed25519(mustHex(t, h)); !errors.Is(err, ErrEd25519SmallOrder) {
			t.Errorf("small-order key %s: err = %v, want %v", h, err, ErrEd25519SmallOrder)
		}
	}
	for _, h := range nonCanonical {
		if err := Ed25519(mustHex(t, h)); !errors.Is(err, ErrEd25519NotCanonical) {
			t.Errorf("non-canonical key %s: err = %v, want %v", h, err, ErrEd25519NotCanonical)
		}
	}
	if err := Ed25519(make([]byte, 31)); !errors.Is(err, ErrEd25519Invalid) {
		t.Errorf("31-byte key: err = %v", err)
	}
}

// TestEd25519IdentityForgery shows why: under the identity key, R = B and
// S = 1 verify for any message in crypto/ed25519, which Ed25519 refuses.
func TestEd25519IdentityForgery(t *testing.T) {
	identity := mustHex(t, smallOrder[0])
	sig := append(mustHex(t, "5866666666666666666666666666666666666666666666666666666666666666"), make([]byte, 32)...)
	sig[32] = 1
	for _, msg := range []string{"release 1", "anything else"} {
		if !ed25519.Verify(identity, []byte(msg), sig) {
			t.Fatalf("the constant signature no longer verifies for %q; the test lost its point", msg)
		}
	}
	if Ed25519(identity) == nil {
		t.Fatal("identity key accepted")
	}
}

// TestAttackMixedOrderKey: alice's key plus a point of order 8 is another
// key to every byte comparison, yet alice's secret makes signatures that
// verify under it one time in eight (whenever 8 divides the challenge), so
// one secret could count as two maintainers.
func TestAttackMixedOrderKey(t *testing.T) {
	seed := make([]byte, ed25519.SeedSize)
	rand.Read(seed)
	alice := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	var c, ct curve.CompressedEdwardsY
	c.SetBytes(alice)
	ct.SetBytes(mustHex(t, smallOrder[4]))
	var a, t8, m curve.EdwardsPoint
	a.SetCompressedY(&c)
	t8.SetCompressedY(&ct)
	m.Add(&a, &t8)
	var mc curve.CompressedEdwardsY
	mc.SetEdwardsPoint(&m)
	mallory := ed25519.PublicKey(mc[:])

	verified := 0
	for i := range 64 {
		msg := []byte{byte(i)}
		if ed25519.Verify(mallory, msg, signAs(seed, mallory, msg)) {
			verified++
		}
	}
	if verified == 0 {
		t.Fatal("none of 64 signatures by alice's secret verified under alice+T8; the test lost its point")
	}
	if err := Ed25519(mallory); !errors.Is(err, ErrEd25519Torsion) {
		t.Fatalf("alice+T8 (%d of 64 signatures by alice's secret verify under it): err = %v, want %v", verified, err, ErrEd25519Torsion)
	}
	if err := Ed25519(alice); err != nil {
		t.Fatalf("alice's own key refused: %v", err)
	}
}

// signAs is RFC 8032 signing with seed's secret scalar but pub in the
// challenge, as a holder of the secret would sign under a related key.
func signAs(seed []byte, pub ed25519.PublicKey, msg []byte) []byte {
	h := sha512.Sum512(seed)
	h[0] &= 248
	h[31] &= 127
	h[31] |= 64
	var a, r, k, s scalar.Scalar
	a.SetBytesModOrder(h[:32])
	rh := sha512.Sum512(append(append([]byte{}, h[32:]...), msg...))
	r.SetBytesModOrderWide(rh[:])
	var R curve.EdwardsPoint
	R.MulBasepoint(curve.ED25519_BASEPOINT_TABLE, &r)
	var Rc curve.CompressedEdwardsY
	Rc.SetEdwardsPoint(&R)
	kh := sha512.New()
	kh.Write(Rc[:])
	kh.Write(pub)
	kh.Write(msg)
	k.SetBytesModOrderWide(kh.Sum(nil))
	s.Mul(&k, &a)
	s.Add(&s, &r)
	sig := make([]byte, 64)
	copy(sig, Rc[:])
	s.ToBytes(sig[32:])
	return sig
}

func TestEd25519AcceptsGeneratedKeys(t *testing.T) {
	for range 200 {
		pub, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if err := Ed25519(pub); err != nil {
			t.Fatalf("generated key %x refused: %v", pub, err)
		}
	}
}

func TestRSA(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	if err := Public(&k.PublicKey); err != nil {
		t.Fatalf("2048-bit key refused: %v", err)
	}
	for _, tc := range []struct {
		name string
		e    int
		want error
	}{
		{"exponent 3", 3, ErrRSAExponent},
		{"even exponent", 65538, ErrRSAExponent},
		{"exponent 1", 1, ErrRSAExponent},
	} {
		pub := rsa.PublicKey{N: k.N, E: tc.e}
		if err := RSA(&pub); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if err := RSA(&small.PublicKey); !errors.Is(err, ErrRSASize) {
		t.Errorf("1024-bit key: err = %v, want %v", err, ErrRSASize)
	}
}

func TestECDSA(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err := Public(&p256.PublicKey); err != nil {
		t.Errorf("P-256 refused: %v", err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err := Public(&p384.PublicKey); !errors.Is(err, ErrUnsupported) {
		t.Errorf("P-384: err = %v", err)
	}
}

// FuzzEd25519 checks Ed25519 against its definition: a key is accepted
// exactly when it decodes, re-encodes to the same bytes and is not in the
// torsion subgroup, computed here the slow way (multiplying by 8).
func FuzzEd25519(f *testing.F) {
	for _, h := range append(append([]string{}, smallOrder...), nonCanonical...) {
		b, _ := hex.DecodeString(h)
		f.Add(b)
	}
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	f.Add([]byte(pub))
	f.Fuzz(func(t *testing.T, b []byte) {
		err := Ed25519(b)
		want := reference(b)
		if (err == nil) != want {
			t.Fatalf("Ed25519(%x): err = %v, reference accepts = %v", b, err, want)
		}
	})
}
