package vkey

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"testing"

	fmtnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"ssms.dev/ssms/internal/keycheck"
)

// identity is the identity point in its four encodings: canonical, with the
// sign bit, and as y = p + 1 with and without it. Each verifies the
// constant signature R = B, S = 1 for every message.
var identity = []string{
	"0100000000000000000000000000000000000000000000000000000000000000",
	"0100000000000000000000000000000000000000000000000000000000000080",
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
}

// build builds a vkey with a correct hash, whatever the key.
func build(name string, alg byte, pub []byte) string {
	key := append([]byte{alg}, pub...)
	return fmt.Sprintf("%s+%08x+%s", name, keyHash(name, key), base64.StdEncoding.EncodeToString(key))
}

func TestParse(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	good := build("log.example", AlgEd25519, pub)
	k, err := Parse(good, AlgEd25519)
	if err != nil || k.Name != "log.example" || k.String() != good {
		t.Fatalf("Parse(%q) = %+v, %v", good, k, err)
	}
	_, rest, _ := strings.Cut(good, "+")
	h16, b64key, _ := strings.Cut(rest, "+")
	tests := []struct{ vkey, want string }{
		{build("w", AlgEd25519, pub), "w is a log's verifier key (type 0x01, signed-note Ed25519); this needs a witness's verifier key (type 0x04"}, // wrong kind for the caller
		{"log.example+" + h16 + "+" + b64key[:10] + "\r\n" + b64key[10:], "canonical base64"},                                                       // note skips the CR LF
		{build("a b", AlgEd25519, pub), "not a valid note name"},
		{build("a\xffb", AlgEd25519, pub), "not a valid note name"},   // invalid UTF-8, which note refuses
		{build("a\u200bb", AlgEd25519, pub), "not a valid note name"}, // not printable
		{"log.example+00000000+" + b64key, "does not match"},
		{build("log.example", AlgEd25519, pub[:31]), "32-byte"},
		{"log.example", "name+hash+base64"},
	}
	if upper := strings.ToUpper(h16); upper != h16 { // a hash of digits only has one spelling
		tests = append(tests, struct{ vkey, want string }{"log.example+" + upper + "+" + b64key, "lowercase hex"}) // note accepts it; one spelling only
	}
	for _, tt := range tests {
		_, err := Parse(tt.vkey, AlgCosignatureV1)
		if !strings.Contains(tt.want, "this needs") {
			_, err = Parse(tt.vkey, AlgEd25519)
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q): err = %v, want %q", tt.vkey, err, tt.want)
		}
	}
}

// TestAttackWeakVKey: the identity point, in any of its encodings, makes a
// vkey under which one constant signature verifies for every message.
// sumdb/note accepts such a vkey; Parse must not, for logs or witnesses.
func TestAttackWeakVKey(t *testing.T) {
	for _, h := range identity {
		pub, _ := hex.DecodeString(h)
		for _, alg := range []byte{AlgEd25519, AlgCosignatureV1} {
			v := build("evil", alg, pub)
			if _, err := Parse(v, alg); err == nil {
				t.Errorf("weak vkey %s (alg %d) accepted", h, alg)
			}
		}
		// The forgery that the check prevents.
		sig, _ := hex.DecodeString("5866666666666666666666666666666666666666666666666666666666666666" + // R = B
			"0100000000000000000000000000000000000000000000000000000000000000") // S = 1
		if !ed25519.Verify(pub, []byte("any message"), sig) {
			t.Fatalf("constant signature does not verify under %s; the test is wrong", h)
		}
	}
}

// FuzzParse checks Parse against sumdb/note (logs) and transparency-dev's
// cosignature verifier (witnesses): what Parse accepts, they accept with the
// same name and key hash, and Parse gives back the input; what they accept
// and Parse refuses is non-canonical, unprintable or a weak key.
func FuzzParse(f *testing.F) {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	f.Add(build("log.example", AlgEd25519, pub))
	f.Add(build("witness.example", AlgCosignatureV1, pub))
	f.Add(build("a\xffb", AlgEd25519, pub))
	for _, h := range identity {
		b, _ := hex.DecodeString(h)
		f.Add(build("evil", AlgEd25519, b))
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := Parse(s, AlgEd25519, AlgCosignatureV1)
		var ref note.Verifier
		var refErr error
		if algOf(s) == AlgCosignatureV1 {
			ref, refErr = fmtnote.NewVerifierForCosignatureV1(s)
		} else {
			ref, refErr = note.NewVerifier(s)
		}
		if err == nil {
			if refErr != nil {
				t.Fatalf("Parse accepts %q; the reference refuses it: %v", s, refErr)
			}
			if ref.Name() != k.Name || ref.KeyHash() != k.Hash || k.String() != s {
				t.Fatalf("%q: Parse says %q %08x (%q); the reference %q %08x", s, k.Name, k.Hash, k.String(), ref.Name(), ref.KeyHash())
			}
			return
		}
		if refErr != nil {
			return
		}
		// The reference accepts what Parse refuses: only for a reason of ours.
		name, rest, _ := strings.Cut(s, "+")
		h16, key64, _ := strings.Cut(rest, "+")
		key, _ := base64.StdEncoding.DecodeString(key64)
		_, hashErr := strconv.ParseUint(h16, 16, 32)
		canonical := base64.StdEncoding.EncodeToString(key) == key64 && strings.ToLower(h16) == h16 && hashErr == nil
		if canonical && validName(name) && len(key) == 33 && keycheck.Ed25519(key[1:]) == nil && fmt.Sprintf("%08x", keyHash(name, key)) == h16 {
			t.Fatalf("Parse refuses %q (%v); the reference accepts it and it is canonical", s, err)
		}
	})
}

// algOf is the algorithm byte of a vkey, or 0.
func algOf(s string) byte {
	_, rest, _ := strings.Cut(s, "+")
	_, key64, _ := strings.Cut(rest, "+")
	key, err := base64.StdEncoding.DecodeString(key64)
	if err != nil || len(key) == 0 {
		return 0
	}
	return key[0]
}
