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
	"encoding/hex"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

var pass = []byte("correct horse battery staple")

func TestRoundTripEveryAlgorithm(t *testing.T) {
	ctx := context.Background()
	for _, alg := range []Algorithm{Ed25519, ECDSAP256, RSAPSS} {
		t.Run(string(alg), func(t *testing.T) {
			priv, err := Generate(alg)
			if err != nil {
				t.Fatal(err)
			}
			data, err := MarshalPrivateKey(priv, pass)
			if err != nil {
				t.Fatal(err)
			}
			s, err := LoadPrivateKey(data, pass)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Public().Algorithm(); got != alg {
				t.Errorf("algorithm = %s, want %s", got, alg)
			}
			msg := []byte("DSSEv1 3 abc 3 xyz")
			sig, err := s.Sign(ctx, msg)
			if err != nil {
				t.Fatal(err)
			}
			pub, err := ParsePublicKey(s.Public().PEM())
			if err != nil {
				t.Fatal(err)
			}
			if pub.ID() != s.Public().ID() {
				t.Errorf("key ID changed through PEM: %s vs %s", pub.ID(), s.Public().ID())
			}
			if err := pub.Verify(msg, sig); err != nil {
				t.Errorf("valid signature rejected: %v", err)
			}
			if err := pub.Verify(append(msg, '!'), sig); !errors.Is(err, ErrBadSignature) {
				t.Errorf("signature over other message: err = %v, want ErrBadSignature", err)
			}
			flipped := bytes.Clone(sig)
			flipped[len(flipped)/2] ^= 1
			if err := pub.Verify(msg, flipped); !errors.Is(err, ErrBadSignature) {
				t.Errorf("flipped signature: err = %v, want ErrBadSignature", err)
			}
		})
	}
}

// TestCosignReadsOurKeys opens our key files with sigstore's loader, the one
// cosign uses for --key, so the two tools share key files.
func TestCosignReadsOurKeys(t *testing.T) {
	for _, alg := range []Algorithm{Ed25519, ECDSAP256, RSAPSS} {
		priv, _ := Generate(alg)
		data, err := MarshalPrivateKey(priv, pass)
		if err != nil {
			t.Fatal(err)
		}
		got, err := cryptoutils.UnmarshalPEMToPrivateKey(data, cryptoutils.StaticPasswordFunc(pass))
		if err != nil {
			t.Fatalf("%s: sigstore cannot read our key: %v", alg, err)
		}
		want, _ := NewPublicKey(priv.Public())
		have, _ := NewPublicKey(got.(crypto.Signer).Public())
		if have == nil || !want.Equal(have) {
			t.Errorf("%s: sigstore read a different key", alg)
		}
	}
	// And the other way: a key written by sigstore (cosign generate-key-pair).
	privPEM, _, err := cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), cryptoutils.StaticPasswordFunc(pass))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPrivateKey(privPEM, pass); err != nil {
		t.Errorf("cannot read a key written by sigstore: %v", err)
	}
}

func TestLoadPrivateKeyErrors(t *testing.T) {
	priv, _ := Generate(Ed25519)
	good, _ := MarshalPrivateKey(priv, pass)
	block, _ := pem.Decode(good)
	corrupt := bytes.Clone(block.Bytes)
	corrupt[len(corrupt)/2] ^= 0x55
	plain, _ := cryptoutils.MarshalPrivateKeyToPEM(priv)
	pub, _ := NewPublicKey(priv.Public())
	tests := []struct {
		name string
		data []byte
		pass []byte
		want string
	}{
		{"wrong passphrase", good, []byte("wrong"), "wrong passphrase"},
		{"empty passphrase", good, nil, "wrong passphrase"},
		{"corrupt box", pem.EncodeToMemory(&pem.Block{Type: block.Type, Bytes: corrupt}), pass, "corrupt"},
		{"not pem", []byte("hello"), pass, "not a PEM private key"},
		{"note key", []byte("PRIVATE+KEY+w.example+0123abcd+ABCD"), pass, "a log's or witness's note signing key"},
		{"public key", pub.PEM(), pass, "this is a public key"},
		{"unencrypted", plain, pass, "not encrypted"},
		{"other type", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}), pass, "want \"ENCRYPTED SIGSTORE PRIVATE KEY\""},
		{"trailing data", append(bytes.Clone(good), "junk"...), pass, "unexpected data"},
		{"too large", bytes.Repeat([]byte("a"), MaxPrivateKeyPEM+1), pass, "at most"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadPrivateKey(tt.data, tt.pass)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			// Never echo key material: no line of the file may appear in the error.
			for _, line := range strings.Split(string(tt.data), "\n") {
				if len(line) > 8 && strings.Contains(err.Error(), line) {
					t.Errorf("error echoes the key file: %v", err)
				}
			}
		})
	}
}

func TestMarshalRefusesEmptyPassphrase(t *testing.T) {
	priv, _ := Generate(Ed25519)
	if _, err := MarshalPrivateKey(priv, nil); !errors.Is(err, ErrEmptyPassphrase) {
		t.Fatalf("err = %v, want ErrEmptyPassphrase", err)
	}
}

func TestPublicKeyRejects(t *testing.T) {
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	for _, k := range []any{&p384.PublicKey, &rsa1024.PublicKey, "a string"} {
		if _, err := NewPublicKey(k); err == nil {
			t.Errorf("%T accepted", k)
		}
	}
	priv, _ := Generate(Ed25519)
	pub, _ := NewPublicKey(priv.Public())
	good := pub.PEM()
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"leading junk", append([]byte("junk\n"), good...), "unexpected data"},
		{"trailing junk", append(bytes.Clone(good), "junk"...), "unexpected data"},
		{"private", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}}), "this is a private key: give its public key file"},
		{"encrypted private", pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED SIGSTORE PRIVATE KEY", Bytes: []byte{1}}), "this is a private key"},
		{"note key", []byte("PRIVATE+KEY+w.example+0123abcd+ABCD\n"), "note signing key"},
		{"vkey", []byte("log.example+0123abcd+AQIDBA==\n"), "verifier key (NAME+HASH+KEY), not a public key file"},
		{"headers", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Headers: map[string]string{"a": "b"}, Bytes: pub.DER()}), "headers"},
		{"bad der", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{0x30, 0}}), "SubjectPublicKeyInfo"},
		{"empty", nil, "no PEM block"},
	}
	for _, tt := range tests {
		if _, err := ParsePublicKey(tt.data); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
	if _, err := ParsePublicKey(append(bytes.Clone(good), "\n\n"...)); err != nil {
		t.Errorf("trailing white space refused: %v", err)
	}
}

func TestKeyIDIsSHA256OfDER(t *testing.T) {
	// Vector: the Ed25519 key of RFC 8032 test 1, in SPKI form.
	der := []byte{0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
		0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a,
		0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a}
	k, err := ParsePublicKeyDER(der)
	if err != nil {
		t.Fatal(err)
	}
	// Computed independently: xxd -r -p | sha256sum over those 44 bytes.
	const want = "06e3fd8fda29bb60ab59557de61edb0aecdb231134be30e75b455f8e1b792fa9"
	if k.ID() != want {
		t.Fatalf("ID = %s, want %s", k.ID(), want)
	}
}

func FuzzParsePublicKey(f *testing.F) {
	for _, alg := range []Algorithm{Ed25519, ECDSAP256} {
		priv, _ := Generate(alg)
		pub, _ := NewPublicKey(priv.Public())
		f.Add(pub.PEM())
	}
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\nMAo=\n-----END PUBLIC KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParsePublicKey(data)
		if err != nil {
			return
		}
		again, err := ParsePublicKey(k.PEM())
		if err != nil || !again.Equal(k) {
			t.Fatalf("PEM of a parsed key does not parse back: %v", err)
		}
	})
}

// TestAttackWeakPublicKeyFiles: a key file holding the Ed25519 identity
// point (in any of its four encodings) admits one signature valid for every
// message; a small or low-exponent RSA key is weak. Each is refused where
// keys enter: key files, private keys, KMS keys (all through NewPublicKey).
func TestAttackWeakPublicKeyFiles(t *testing.T) {
	pemOf := func(pub any) []byte {
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}
	for _, h := range []string{
		"0100000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000080",
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
	} {
		pub, _ := hex.DecodeString(h)
		if _, err := ParsePublicKey(pemOf(ed25519.PublicKey(pub))); err == nil {
			t.Errorf("weak ed25519 key %s accepted", h)
		}
	}
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []int{3, 65536, 65538} {
		if _, err := ParsePublicKey(pemOf(&rsa.PublicKey{N: priv.N, E: e})); err == nil {
			t.Errorf("rsa key with exponent %d accepted", e)
		}
	}
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	if _, err := NewKeySigner(small); err == nil {
		t.Error("1024-bit rsa private key accepted")
	}
}
