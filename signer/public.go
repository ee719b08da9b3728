package signer

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/sigstore/sigstore/pkg/signature"

	"ssms.dev/ssms/internal/keycheck"
)

// Algorithm names a signature scheme SSMS accepts.
type Algorithm string

const (
	Ed25519   Algorithm = "ed25519"
	ECDSAP256 Algorithm = "ecdsa-p256"
	RSAPSS    Algorithm = "rsa-pss"
)

// MinRSABits is the smallest RSA modulus accepted, for signing or verifying.
const MinRSABits = keycheck.MinRSABits

// MaxPublicKeyPEM bounds the size of a public key file.
const MaxPublicKeyPEM = 8 << 10

// ErrBadSignature is returned when a signature does not verify.
var ErrBadSignature = errors.New("signature does not verify")

// ErrWeakKey wraps internal/keycheck's refusals: a key that is a valid
// encoding but must not be trusted (small-order or non-canonical Ed25519,
// weak RSA) or of a type SSMS does not use.
var ErrWeakKey = errors.New("key refused")

// PublicKey is a verified-to-be-acceptable public key with its ID.
type PublicKey struct {
	key      crypto.PublicKey
	der      []byte
	id       string
	alg      Algorithm
	verifier signature.Verifier
}

// pssOptions fixes the salt length, so that verification accepts exactly
// the signatures this package makes and no variant of them.
var pssOptions = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}

// NewPublicKey wraps pub, refusing algorithms and sizes SSMS does not
// accept, and weak keys (internal/keycheck): every key the project uses,
// from a file, a policy, a private key or a KMS, is made here.
func NewPublicKey(pub crypto.PublicKey) (*PublicKey, error) {
	if err := keycheck.Public(pub); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWeakKey, err)
	}
	k := &PublicKey{key: pub}
	var err error
	switch pub := pub.(type) {
	case ed25519.PublicKey:
		k.alg = Ed25519
		k.verifier, err = signature.LoadED25519Verifier(pub)
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() {
			return nil, fmt.Errorf("ecdsa key on curve %s; only P-256 is accepted", pub.Curve.Params().Name)
		}
		k.alg = ECDSAP256
		k.verifier, err = signature.LoadECDSAVerifier(pub, crypto.SHA256)
	case *rsa.PublicKey:
		k.alg = RSAPSS
		k.verifier, err = signature.LoadRSAPSSVerifier(pub, crypto.SHA256, pssOptions)
	default:
		return nil, fmt.Errorf("unsupported key type %T; use ed25519, ecdsa-p256 or rsa-pss", pub)
	}
	if err != nil {
		return nil, err
	}
	if k.der, err = x509.MarshalPKIXPublicKey(pub); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(k.der)
	k.id = hex.EncodeToString(sum[:])
	return k, nil
}

// ParsePublicKey parses a PEM "PUBLIC KEY" block. Anything around the block
// other than white space is an error, so that one file holds one key.
func ParsePublicKey(data []byte) (*PublicKey, error) {
	if len(data) > MaxPublicKeyPEM {
		return nil, fmt.Errorf("public key file of %d bytes; at most %d expected", len(data), MaxPublicKeyPEM)
	}
	block, rest := pem.Decode(data)
	switch {
	case block == nil && bytes.HasPrefix(data, []byte(noteKeyPrefix)):
		return nil, errors.New(noteKeyMistake)
	case block == nil && looksLikeVKey(data):
		return nil, errors.New("this is a log's or witness's verifier key (NAME+HASH+KEY), not a public key file: a policy takes it with --log or --witness")
	case block == nil:
		return nil, errors.New("no PEM block found; want -----BEGIN PUBLIC KEY-----")
	case strings.Contains(block.Type, "PRIVATE KEY"):
		return nil, errors.New("this is a private key: give its public key file (NAME.pub) instead, and keep NAME.key to yourself")
	case block.Type != "PUBLIC KEY":
		return nil, fmt.Errorf("PEM block is %q; want \"PUBLIC KEY\"", block.Type)
	}
	if len(bytes.TrimSpace(rest)) != 0 || len(bytes.TrimSpace(data[:bytes.Index(data, []byte("-----BEGIN"))])) != 0 {
		return nil, errors.New("unexpected data around the PEM block")
	}
	if len(block.Headers) != 0 {
		return nil, errors.New("PEM headers are not allowed in a public key")
	}
	return ParsePublicKeyDER(block.Bytes)
}

// ParsePublicKeyDER parses a DER SubjectPublicKeyInfo.
func ParsePublicKeyDER(der []byte) (*PublicKey, error) {
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("not a SubjectPublicKeyInfo: %w", err)
	}
	k, err := NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(k.der, der) {
		return nil, errors.New("SubjectPublicKeyInfo is not in canonical DER")
	}
	return k, nil
}

// ID is the lowercase hex SHA-256 of the DER SubjectPublicKeyInfo.
func (k *PublicKey) ID() string { return k.id }

// Algorithm is the key's signature scheme.
func (k *PublicKey) Algorithm() Algorithm { return k.alg }

// DER is the SubjectPublicKeyInfo. The caller must not modify it.
func (k *PublicKey) DER() []byte { return k.der }

// Crypto returns the key as a crypto.PublicKey.
func (k *PublicKey) Crypto() crypto.PublicKey { return k.key }

// PEM encodes the key as a "PUBLIC KEY" block.
func (k *PublicKey) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: k.der})
}

// Equal reports whether k and o are the same key.
func (k *PublicKey) Equal(o *PublicKey) bool { return o != nil && k.id == o.id }

// Verify checks sig over msg.
func (k *PublicKey) Verify(msg, sig []byte) error {
	// Ed25519 directly, as sigstore's verifier does it, without the copies
	// of msg and sig its io.Reader interface makes on every verification.
	if pub, ok := k.key.(ed25519.PublicKey); ok {
		if !ed25519.Verify(pub, msg, sig) {
			return ErrBadSignature
		}
		return nil
	}
	if err := k.verifier.VerifySignature(bytes.NewReader(sig), bytes.NewReader(msg)); err != nil {
		return ErrBadSignature
	}
	return nil
}

// A log's or witness's note signing key starts with this; it is not a
// maintainer's or rebuilder's key, a slip worth one clear sentence.
const (
	noteKeyPrefix  = "PRIVATE+KEY+"
	noteKeyMistake = "this is a log's or witness's note signing key (PRIVATE+KEY+…), not a maintainer's or rebuilder's key: those are made by ssms key generate"
)

// looksLikeVKey reports whether data is one line NAME+HASH+BASE64, a note
// verifier key, without parsing (or echoing) it.
func looksLikeVKey(data []byte) bool {
	line := bytes.TrimSpace(data)
	parts := bytes.Split(line, []byte("+"))
	return len(parts) >= 3 && !bytes.ContainsAny(line, " \n") && len(parts[1]) == 8
}
