package signer

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"
)

// encryptedKeyType is the PEM type cosign writes; the older cosign name is
// accepted when reading.
const (
	encryptedKeyType       = "ENCRYPTED SIGSTORE PRIVATE KEY"
	legacyEncryptedKeyType = "ENCRYPTED COSIGN PRIVATE KEY"
)

// MaxPrivateKeyPEM bounds the size of a private key file.
const MaxPrivateKeyPEM = 16 << 10

// DefaultRSABits is the modulus size of generated RSA keys.
const DefaultRSABits = 3072

var (
	// ErrWrongPassphrase means the key file is intact but the passphrase
	// does not open it.
	ErrWrongPassphrase = errors.New("wrong passphrase")
	// ErrEmptyPassphrase refuses to store a key unprotected.
	ErrEmptyPassphrase = errors.New("empty passphrase; a key at rest must be encrypted")
)

// Signer signs messages with one key. Implementations must be safe to call
// from one goroutine at a time at least.
type Signer interface {
	Public() *PublicKey
	Sign(ctx context.Context, msg []byte) ([]byte, error)
}

// ParseAlgorithm accepts the names listed in the package documentation.
func ParseAlgorithm(s string) (Algorithm, error) {
	switch a := Algorithm(strings.ToLower(s)); a {
	case Ed25519, ECDSAP256, RSAPSS:
		return a, nil
	}
	return "", fmt.Errorf("unknown algorithm %q; use ed25519, ecdsa-p256 or rsa-pss", s)
}

// Generate makes a new private key.
func Generate(alg Algorithm) (crypto.Signer, error) {
	switch alg {
	case Ed25519:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	case ECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RSAPSS:
		return rsa.GenerateKey(rand.Reader, DefaultRSABits)
	}
	return nil, fmt.Errorf("unknown algorithm %q", alg)
}

// MarshalPrivateKey encrypts priv under passphrase in cosign's format.
func MarshalPrivateKey(priv crypto.Signer, passphrase []byte) ([]byte, error) {
	if len(passphrase) == 0 {
		return nil, ErrEmptyPassphrase
	}
	if _, err := NewPublicKey(priv.Public()); err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	sealed, err := encrypted.Encrypt(der, passphrase)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: encryptedKeyType, Bytes: sealed}), nil
}

// LoadPrivateKey opens an encrypted private key. Its errors never include
// the file's content.
func LoadPrivateKey(data, passphrase []byte) (Signer, error) {
	if len(data) > MaxPrivateKeyPEM {
		return nil, fmt.Errorf("private key file of %d bytes; at most %d expected", len(data), MaxPrivateKeyPEM)
	}
	block, rest := pem.Decode(data)
	switch {
	case block == nil && bytes.Contains(data, []byte("-----BEGIN ")):
		return nil, errors.New("corrupt key file: its PEM block does not decode")
	case block == nil && bytes.HasPrefix(data, []byte(noteKeyPrefix)):
		return nil, errors.New(noteKeyMistake)
	case block == nil:
		return nil, errors.New("not a PEM private key file")
	case block.Type == "PUBLIC KEY":
		return nil, errors.New("this is a public key; signing needs the .key file")
	case block.Type == "PRIVATE KEY" || strings.HasSuffix(block.Type, " PRIVATE KEY") && !strings.HasPrefix(block.Type, "ENCRYPTED"):
		return nil, errors.New("private key is not encrypted; SSMS only uses keys encrypted at rest (re-create it with ssms key generate)")
	case block.Type != encryptedKeyType && block.Type != legacyEncryptedKeyType:
		return nil, fmt.Errorf("PEM block is %q; want %q", block.Type, encryptedKeyType)
	case len(bytes.TrimSpace(rest)) != 0:
		return nil, errors.New("unexpected data after the PEM block")
	}
	der, err := encrypted.Decrypt(block.Bytes, passphrase)
	if err != nil {
		if err.Error() == "encrypted: decryption failed" {
			return nil, ErrWrongPassphrase
		}
		return nil, errors.New("corrupt encrypted key (the sealed box does not parse)")
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, errors.New("corrupt key: decrypted content is not PKCS #8")
	}
	return NewKeySigner(priv)
}

// keySigner signs with a key in memory, through sigstore's signers.
type keySigner struct {
	pub *PublicKey
	sv  signature.Signer
}

// NewKeySigner wraps an in-memory private key.
func NewKeySigner(priv crypto.PrivateKey) (Signer, error) {
	cs, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported private key type %T", priv)
	}
	pub, err := NewPublicKey(cs.Public())
	if err != nil {
		return nil, err
	}
	var sv signature.Signer
	switch priv := priv.(type) {
	case ed25519.PrivateKey:
		sv, err = signature.LoadED25519Signer(priv)
	case *ecdsa.PrivateKey:
		sv, err = signature.LoadECDSASigner(priv, crypto.SHA256)
	case *rsa.PrivateKey:
		sv, err = signature.LoadRSAPSSSigner(priv, crypto.SHA256, pssOptions)
	}
	if err != nil {
		return nil, err
	}
	return &keySigner{pub: pub, sv: sv}, nil
}

func (s *keySigner) Public() *PublicKey { return s.pub }

func (s *keySigner) Sign(ctx context.Context, msg []byte) ([]byte, error) {
	return s.sv.SignMessage(bytes.NewReader(msg), options.WithContext(ctx))
}
