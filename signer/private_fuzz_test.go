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
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"testing"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"

	"ssms.dev/ssms/internal/keycheck"
)

// referenceLoad opens a key file the way cosign's format is specified,
// step by step with the standard library and securesystemslib, without
// any of LoadPrivateKey's code: one PEM block of an encrypted type and
// nothing after it, the sealed box, PKCS #8, a key type and size the
// project accepts.
func referenceLoad(data, passphrase []byte) crypto.PublicKey {
	if len(data) > MaxPrivateKeyPEM {
		return nil
	}
	block, rest := pem.Decode(data)
	if block == nil || len(bytes.TrimSpace(rest)) != 0 {
		return nil
	}
	if block.Type != "ENCRYPTED SIGSTORE PRIVATE KEY" && block.Type != "ENCRYPTED COSIGN PRIVATE KEY" {
		return nil
	}
	der, err := encrypted.Decrypt(block.Bytes, passphrase)
	if err != nil {
		return nil
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil
	}
	pub := signer.Public()
	if k, ok := pub.(*ecdsa.PublicKey); ok && k.Curve != elliptic.P256() {
		return nil
	}
	if keycheck.Public(pub) != nil {
		return nil
	}
	return pub
}

// FuzzLoadPrivateKey holds LoadPrivateKey to the reference: it opens
// exactly the files the reference opens, to the same public key, and the
// key it returns makes signatures that the standard library verifies under
// that public key.
func FuzzLoadPrivateKey(f *testing.F) {
	for _, alg := range []Algorithm{Ed25519, ECDSAP256} {
		priv, _ := Generate(alg)
		good, _ := MarshalPrivateKey(priv, pass)
		f.Add(good)
		f.Add(bytes.Replace(good, []byte("SIGSTORE"), []byte("COSIGN"), 2))
		f.Add(append(append([]byte{}, good...), "trailing"...))
	}
	weak, _ := rsa.GenerateKey(rand.Reader, 1024)
	der, _ := x509.MarshalPKCS8PrivateKey(weak)
	sealed, _ := encrypted.Encrypt(der, pass)
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED SIGSTORE PRIVATE KEY", Bytes: sealed}))
	f.Add([]byte("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\ne30=\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := LoadPrivateKey(data, pass)
		want := referenceLoad(data, pass)
		if (err == nil) != (want != nil) {
			t.Fatalf("LoadPrivateKey err = %v, reference opens = %v", err, want != nil)
		}
		if err != nil {
			return
		}
		wantDER, _ := x509.MarshalPKIXPublicKey(want)
		if !bytes.Equal(s.Public().DER(), wantDER) {
			t.Fatal("LoadPrivateKey returned another public key than the file holds")
		}
		msg := []byte("DSSEv1 1 x 1 y")
		sig, err := s.Sign(context.Background(), msg)
		if err != nil {
			t.Fatal(err)
		}
		if !stdlibVerify(want, msg, sig) {
			t.Fatal("the loaded key's signature does not verify under the file's public key")
		}
	})
}

func stdlibVerify(pub crypto.PublicKey, msg, sig []byte) bool {
	digest := sha256.Sum256(msg)
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return ed25519.Verify(k, msg, sig)
	case *ecdsa.PublicKey:
		return ecdsa.VerifyASN1(k, digest[:], sig)
	case *rsa.PublicKey:
		return rsa.VerifyPSS(k, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
	}
	return false
}
