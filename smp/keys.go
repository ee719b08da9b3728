package smp

import (
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
	"ssms.dev/ssms/internal/keycheck"
	"ssms.dev/ssms/signer"
)

// PublicKey is a key that may sign SMP commands: Ed25519, or RSA-PSS.
type PublicKey struct {
	key     *signer.PublicKey
	encoded string
	ed25519 voi.PublicKey  // the raw key, for Ed25519
	rsa     *rsa.PublicKey // for RSA
}

// rsaBits are the RSA sizes SMP accepts. A fixed set, with the exponent
// fixed at 65537, makes the cost of a verification a function of the
// signature's length alone, so a dummy key of that size costs the same as
// any real one (see Verify).
var rsaBits = map[int]bool{2048: true, 3072: true, 4096: true}

// rsaExponent is the only public exponent SMP accepts.
const rsaExponent = 65537

// ErrWeakKey means a key parsed but is refused: an Ed25519 key of small
// order or in a non-canonical encoding, or an RSA key that is not 2048,
// 3072 or 4096 bits with exponent 65537.
var ErrWeakKey = errors.New("smp: weak or unsupported key")

// checkKey refuses the keys keycheck refuses, and RSA keys outside the
// sizes and exponent above.
func checkKey(k *signer.PublicKey) error {
	if err := keycheck.Public(k.Crypto()); err != nil {
		return fmt.Errorf("%w: %w", ErrWeakKey, err)
	}
	switch pub := k.Crypto().(type) {
	case ed25519.PublicKey:
		return nil
	case *rsa.PublicKey:
		if !rsaBits[pub.N.BitLen()] || pub.E != rsaExponent {
			return fmt.Errorf("%w: rsa keys are 2048, 3072 or 4096 bits with exponent %d", ErrWeakKey, rsaExponent)
		}
		return nil
	}
	return fmt.Errorf("%w: smp keys are Ed25519 or RSA-PSS", ErrWeakKey)
}

func newKey(k *signer.PublicKey, encoded string) *PublicKey {
	p := &PublicKey{key: k, encoded: encoded}
	switch pub := k.Crypto().(type) {
	case ed25519.PublicKey:
		p.ed25519 = voi.PublicKey(pub)
	case *rsa.PublicKey:
		p.rsa = pub
	}
	return p
}

// ParseKey parses base64 DER SubjectPublicKeyInfo. A key that does not
// parse, is of another algorithm or is weak (see ErrWeakKey) is
// ERR SYNTAX 2: a parameter in the wrong format.
func ParseKey(s string) (*PublicKey, error) {
	der, err := decode(s)
	if err != nil {
		return nil, err
	}
	k, err := signer.ParsePublicKeyDER(der)
	if errors.Is(err, signer.ErrWeakKey) { // the signer package refuses weak keys itself
		return nil, &Error{Type: Syntax(SyntaxBadParameters), Err: fmt.Errorf("%w: %w", ErrWeakKey, err)}
	}
	if err != nil {
		return nil, fail(Syntax(SyntaxBadParameters))
	}
	if err := checkKey(k); err != nil {
		return nil, &Error{Type: Syntax(SyntaxBadParameters), Err: err}
	}
	return newKey(k, s), nil
}

// NewKey wraps a signer key for SMP use, refusing what ParseKey refuses.
func NewKey(k *signer.PublicKey) (*PublicKey, error) {
	if err := checkKey(k); err != nil {
		return nil, err
	}
	return newKey(k, Encode(k.DER())), nil
}

// String is the key as it travels: base64 DER SPKI.
func (k *PublicKey) String() string { return k.encoded }

// Signer is the key in the signer package's form.
func (k *PublicKey) Signer() *signer.PublicKey { return k.key }

// Verify checks sig over signed. A server checking a client's command
// calls the function Verify instead, whose cost does not depend on the key.
func (k *PublicKey) Verify(signed, sig []byte) bool { return Verify(k, signed, sig) }
