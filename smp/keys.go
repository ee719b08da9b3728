package smp

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"math/big"

	"ssms.dev/ssms/signer"
)

// PublicKey is a key that may sign SMP commands: Ed25519, or RSA-PSS.
type PublicKey struct {
	key     *signer.PublicKey
	encoded string
}

// ParseKey parses base64 DER SubjectPublicKeyInfo; a key that does not
// parse, or of another algorithm, is ERR SYNTAX 2.
func ParseKey(s string) (*PublicKey, error) {
	der, err := decode(s)
	if err != nil {
		return nil, err
	}
	k, err := signer.ParsePublicKeyDER(der)
	if err != nil || (k.Algorithm() != signer.Ed25519 && k.Algorithm() != signer.RSAPSS) {
		return nil, fail(Syntax(SyntaxBadParameters))
	}
	return &PublicKey{key: k, encoded: s}, nil
}

// NewKey wraps a signer key for SMP use.
func NewKey(k *signer.PublicKey) (*PublicKey, error) {
	if k.Algorithm() != signer.Ed25519 && k.Algorithm() != signer.RSAPSS {
		return nil, errors.New("smp keys are Ed25519 or RSA-PSS")
	}
	return &PublicKey{key: k, encoded: Encode(k.DER())}, nil
}

// String is the key as it travels: base64 DER SPKI.
func (k *PublicKey) String() string { return k.encoded }

// Signer is the key in the signer package's form.
func (k *PublicKey) Signer() *signer.PublicKey { return k.key }

// Verify checks sig over signed.
func (k *PublicKey) Verify(signed, sig []byte) bool { return k.key.Verify(signed, sig) == nil }

// dummyKeys are verified against when a queue does not exist, so that
// ERR AUTH costs the same whether or not it does. The key is chosen by the
// signature's length, the only thing an attacker controls.
var dummyEd25519, dummyRSA2048, dummyRSA3072, dummyRSA4096 = func() (*PublicKey, *PublicKey, *PublicKey, *PublicKey) {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	mk := func(pub any) *PublicKey {
		k, err := signer.NewPublicKey(pub)
		if err != nil {
			panic(err)
		}
		p, _ := NewKey(k)
		return p
	}
	rsaKey := func(bits int) *PublicKey {
		// Verification costs the same for any modulus of a size, so a
		// random odd one does; generating real keys would take seconds.
		b := make([]byte, bits/8)
		rand.Read(b)
		b[0] |= 0x80
		b[len(b)-1] |= 1
		return mk(&rsa.PublicKey{N: new(big.Int).SetBytes(b), E: 65537})
	}
	return mk(pub), rsaKey(2048), rsaKey(3072), rsaKey(4096)
}()

// VerifyDummy does the work of a verification that must fail.
func VerifyDummy(signed, sig []byte) {
	k := dummyEd25519
	switch len(sig) {
	case 256:
		k = dummyRSA2048
	case 384:
		k = dummyRSA3072
	case 512:
		k = dummyRSA4096
	}
	k.Verify(signed, sig)
}
