package smp

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"math/big"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
	"ssms.dev/ssms/signer"
)

// PublicKey is a key that may sign SMP commands: Ed25519, or RSA-PSS.
type PublicKey struct {
	key     *signer.PublicKey
	encoded string
	ed25519 voi.PublicKey // the raw key, for Ed25519
}

// stdlibVerify makes curve25519-voi accept exactly what crypto/ed25519
// accepts. The server verifies two signatures per message, and voi's
// vectorised arithmetic takes about 0.7 of the time.
var stdlibVerify = &voi.Options{Verify: voi.VerifyOptionsStdLib}

func newKey(k *signer.PublicKey, encoded string) *PublicKey {
	p := &PublicKey{key: k, encoded: encoded}
	if raw, ok := k.Crypto().(ed25519.PublicKey); ok {
		p.ed25519 = voi.PublicKey(raw)
	}
	return p
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
	return newKey(k, s), nil
}

// NewKey wraps a signer key for SMP use.
func NewKey(k *signer.PublicKey) (*PublicKey, error) {
	if k.Algorithm() != signer.Ed25519 && k.Algorithm() != signer.RSAPSS {
		return nil, errors.New("smp keys are Ed25519 or RSA-PSS")
	}
	return newKey(k, Encode(k.DER())), nil
}

// String is the key as it travels: base64 DER SPKI.
func (k *PublicKey) String() string { return k.encoded }

// Signer is the key in the signer package's form.
func (k *PublicKey) Signer() *signer.PublicKey { return k.key }

// Verify checks sig over signed.
func (k *PublicKey) Verify(signed, sig []byte) bool {
	if k.ed25519 != nil {
		return len(sig) == voi.SignatureSize && voi.VerifyWithOptions(k.ed25519, signed, sig, stdlibVerify)
	}
	return k.key.Verify(signed, sig) == nil
}

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
