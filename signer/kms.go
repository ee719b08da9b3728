package signer

import (
	"bytes"
	"context"
	"crypto"
	"fmt"
	"regexp"

	"github.com/sigstore/sigstore/pkg/signature/kms"
	"github.com/sigstore/sigstore/pkg/signature/options"
)

// kmsURI matches a sigstore KMS reference: scheme://rest. The built-in
// schemes (awskms, gcpkms, azurekms, hashivault) need their provider
// package linked in; any other scheme NAME is served by a program
// sigstore-kms-NAME on PATH (sigstore's CLI plugin protocol), which is how
// the ssms binary reaches every provider without linking cloud SDKs.
var kmsURI = regexp.MustCompile(`^[a-z][a-z0-9-]*://.+`)

// IsKMS reports whether ref names a KMS key rather than a file.
func IsKMS(ref string) bool { return kmsURI.MatchString(ref) }

// kmsSigner signs through a sigstore KMS SignerVerifier.
type kmsSigner struct {
	pub *PublicKey
	sv  kms.SignerVerifier
}

// LoadKMS opens the KMS key ref for signing.
func LoadKMS(ctx context.Context, ref string) (Signer, error) {
	sv, err := kms.Get(ctx, ref, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("kms key %s: %w", ref, err)
	}
	pub, err := sv.PublicKey(options.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("kms key %s: reading public key: %w", ref, err)
	}
	pk, err := NewPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("kms key %s: %w", ref, err)
	}
	return &kmsSigner{pub: pk, sv: sv}, nil
}

// CreateKMS asks the KMS to create the key ref and returns its public key.
func CreateKMS(ctx context.Context, ref string, alg Algorithm) (*PublicKey, error) {
	sv, err := kms.Get(ctx, ref, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("kms key %s: %w", ref, err)
	}
	names := map[Algorithm]string{Ed25519: "ed25519", ECDSAP256: "ecdsa-p256", RSAPSS: "rsa-3072"}
	pub, err := sv.CreateKey(ctx, names[alg])
	if err != nil {
		return nil, fmt.Errorf("kms key %s: creating: %w", ref, err)
	}
	return NewPublicKey(pub)
}

func (s *kmsSigner) Public() *PublicKey { return s.pub }

func (s *kmsSigner) Sign(ctx context.Context, msg []byte) ([]byte, error) {
	sig, err := s.sv.SignMessage(bytes.NewReader(msg), options.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	// A KMS is outside our control: never hand on a signature that would
	// not verify under the key the policy lists.
	if err := s.pub.Verify(msg, sig); err != nil {
		return nil, fmt.Errorf("kms returned a signature that does not verify under its own public key")
	}
	return sig, nil
}
