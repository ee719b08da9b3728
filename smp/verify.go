package smp

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"math/big"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// Verify reports whether sig is k's signature over signed. k may be nil: a
// queue that does not exist, or has no sender key yet; the answer is then
// false.
//
// The specification asks that ERR AUTH take the same time whether or not
// the queue exists. So Verify does the work that the signature's length
// implies, whatever k is: a 64-byte signature costs one Ed25519
// verification, one of 256, 384 or 512 bytes one RSA-PSS verification with
// a modulus of that size, and any other length nothing (no accepted key
// makes one). When k is absent or of another type or size, the work is
// done against a dummy key and the answer is false. The time then depends
// only on the lengths of signed and sig, which the sender chose.
func Verify(k *PublicKey, signed, sig []byte) bool {
	w := workKey(k, len(sig))
	if w == nil {
		return false
	}
	return w.verify(signed, sig) && w == k
}

// workKey is the key Verify checks a signature of n bytes against: k if
// its signatures have n bytes, else the dummy key for n, or nil.
func workKey(k *PublicKey, n int) *PublicKey {
	if k != nil && k.sigSize() == n {
		return k
	}
	return dummyKeys[n]
}

func (k *PublicKey) sigSize() int {
	if k.rsa != nil {
		return k.rsa.Size()
	}
	return ed25519.SignatureSize
}

// pss is RSA-PSS as the package doc states: SHA-256, salt of the hash's
// length (what the signer package signs with).
var pss = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}

// stdlibVerify makes curve25519-voi accept exactly what crypto/ed25519
// accepts. The server verifies two signatures per message, and voi's
// vectorised arithmetic takes about 0.7 of the time.
var stdlibVerify = &voi.Options{Verify: voi.VerifyOptionsStdLib}

// verify checks a signature of k's size.
func (k *PublicKey) verify(signed, sig []byte) bool {
	if k.rsa == nil {
		return voi.VerifyWithOptions(k.ed25519, signed, sig, stdlibVerify)
	}
	h := sha256.Sum256(signed)
	// crypto/rsa refuses a signature not below the modulus before any
	// arithmetic, so the moduli of a real and a dummy key would answer
	// such a signature at different speeds. Do the exponentiation anyway,
	// on a value certainly below any modulus of this size (the top byte
	// cleared), and fail.
	if new(big.Int).SetBytes(sig).Cmp(k.rsa.N) >= 0 {
		low := bytes.Clone(sig)
		low[0] = 0
		rsa.VerifyPSS(k.rsa, crypto.SHA256, h[:], low, pss)
		return false
	}
	return rsa.VerifyPSS(k.rsa, crypto.SHA256, h[:], sig, pss) == nil
}

// dummyKeys are the keys Verify works against when the real one is
// missing or of another kind, one per signature length an accepted key
// makes. Nobody holds their private halves.
var dummyKeys = func() map[int]*PublicKey {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	m := map[int]*PublicKey{ed25519.SignatureSize: {ed25519: voi.PublicKey(pub)}}
	for bits := range rsaBits {
		// Exponentiation costs the same for any modulus of a size, so a
		// random odd one with its top bit set does; generating a real
		// key would take seconds.
		b := make([]byte, bits/8)
		rand.Read(b)
		b[0] |= 0x80
		b[len(b)-1] |= 1
		m[bits/8] = &PublicKey{rsa: &rsa.PublicKey{N: new(big.Int).SetBytes(b), E: rsaExponent}}
	}
	return m
}()
