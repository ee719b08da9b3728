// Package keycheck refuses public keys that are valid encodings but weak:
// Ed25519 points of small order, with a torsion component or in a
// non-canonical encoding, and RSA keys that are short, too long or have a
// bad public exponent. Every place a key
// enters the project (policies, key files, vkeys, SMP keys) calls Public.
//
// Why: an Ed25519 key of small order admits one constant signature that
// verifies for every message (R = B, S = 1 against the identity key), and
// the identity point alone has four encodings, so a policy that counts
// keys by encoding would count one attacker four times.
package keycheck

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"sync"

	"github.com/oasisprotocol/curve25519-voi/curve"
)

// Limits on RSA keys. The upper bound keeps one key from making every
// verification 16 times slower than a 2048-bit one.
const (
	MinRSABits     = 2048
	MaxRSABits     = 8192
	MinRSAExponent = 65537
)

// Errors, each naming the weakness.
var (
	ErrEd25519NotCanonical = errors.New("ed25519 public key is not canonically encoded")
	ErrEd25519SmallOrder   = errors.New("ed25519 public key has small order (it admits signatures valid for every message)")
	ErrEd25519Torsion      = errors.New("ed25519 public key has a torsion component (it is not in the prime-order subgroup)")
	ErrEd25519Invalid      = errors.New("ed25519 public key is not a point on the curve")
	ErrRSASize             = fmt.Errorf("rsa public key size outside %d to %d bits", MinRSABits, MaxRSABits)
	ErrRSAExponent         = fmt.Errorf("rsa public exponent must be odd and at least %d", MinRSAExponent)
	ErrUnsupported         = errors.New("unsupported public key type")
)

// Public checks a parsed public key of any type the project accepts.
// ECDSA keys are checked by crypto/x509 when parsed (on the curve, not the
// point at infinity); only P-256 is accepted here.
func Public(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return Ed25519(k)
	case *rsa.PublicKey:
		return RSA(k)
	case *ecdsa.PublicKey:
		if k.Curve == nil || k.Curve.Params().Name != "P-256" {
			return fmt.Errorf("%w: ecdsa keys must use P-256", ErrUnsupported)
		}
		return nil
	default:
		return fmt.Errorf("%w: %T", ErrUnsupported, pub)
	}
}

// Ed25519 refuses a key that is not 32 bytes, not a canonical point
// encoding (y ≥ p, or x = 0 with the sign bit set), not on the curve, of
// small order (in the torsion subgroup, the identity included), or with a
// torsion component. Keys made by key generation, a·B, never fail.
//
// Why the last: A + T, for T of order 8, is another key to every encoding
// and DER comparison, yet the holder of A's secret signs under it one time
// in eight (whenever 8 divides the challenge), so one secret could count
// as two maintainers or two witnesses. The check is a multiplication by
// the group order, about as costly as one signature verification.
func Ed25519(pub ed25519.PublicKey) error {
	if len(pub) == ed25519.PublicKeySize && passed.has([32]byte(pub)) {
		return nil
	}
	if err := ed25519Check(pub); err != nil {
		return err
	}
	passed.add([32]byte(pub))
	return nil
}

func ed25519Check(pub ed25519.PublicKey) error {
	var c curve.CompressedEdwardsY
	if _, err := c.SetBytes(pub); err != nil {
		return fmt.Errorf("%w: %d bytes, want %d", ErrEd25519Invalid, len(pub), ed25519.PublicKeySize)
	}
	if !c.IsCanonicalVartime() {
		return ErrEd25519NotCanonical
	}
	var p curve.EdwardsPoint
	if _, err := p.SetCompressedY(&c); err != nil {
		return ErrEd25519Invalid
	}
	if p.IsSmallOrder() {
		return ErrEd25519SmallOrder
	}
	if !p.IsTorsionFree() {
		return ErrEd25519Torsion
	}
	return nil
}

// RSA refuses a key under MinRSABits or over MaxRSABits, or whose public
// exponent is even or below MinRSAExponent.
func RSA(pub *rsa.PublicKey) error {
	if pub == nil || pub.N == nil {
		return ErrUnsupported
	}
	if bits := pub.N.BitLen(); bits < MinRSABits || bits > MaxRSABits {
		return fmt.Errorf("%w: %d bits", ErrRSASize, bits)
	}
	if pub.E < MinRSAExponent || pub.E%2 == 0 {
		return fmt.Errorf("%w: exponent %d", ErrRSAExponent, pub.E)
	}
	return nil
}

// passed remembers Ed25519 keys that passed: the same policy, witness and
// log keys come back at every verification, and the torsion check costs
// as much as a signature verification. The result depends on the key's
// bytes alone, so remembering it changes nothing but the time.
var passed = &keySet{keys: map[[32]byte]struct{}{}}

// maxPassed bounds the memory: a set that fills is emptied.
const maxPassed = 4096

type keySet struct {
	mu   sync.Mutex
	keys map[[32]byte]struct{}
}

func (s *keySet) has(k [32]byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.keys[k]
	return ok
}

func (s *keySet) add(k [32]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.keys) >= maxPassed {
		clear(s.keys)
	}
	s.keys[k] = struct{}{}
}
