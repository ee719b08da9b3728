package manifest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"

	"ssms.dev/ssms/signer"
)

func TestPAE(t *testing.T) {
	// The example of the DSSE protocol specification.
	got := PAE("http://example.com/HelloWorld", []byte("hello world"))
	want := "DSSEv1 29 http://example.com/HelloWorld 11 hello world"
	if string(got) != want {
		t.Fatalf("PAE = %q, want %q", got, want)
	}
	if !bytes.Equal(got, dsse.PAE("http://example.com/HelloWorld", []byte("hello world"))) {
		t.Fatal("PAE differs from go-securesystemslib's")
	}
}

func newSigner(t testing.TB, alg signer.Algorithm) signer.Signer {
	t.Helper()
	priv, err := signer.Generate(alg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signer.NewKeySigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sslibVerifier is go-securesystemslib's view of an Ed25519 key, written
// against crypto/ed25519 directly, independent of our signer package.
type sslibVerifier struct{ pub ed25519.PublicKey }

func (v sslibVerifier) Verify(_ context.Context, data, sig []byte) error {
	if !ed25519.Verify(v.pub, data, sig) {
		return errors.New("bad signature")
	}
	return nil
}

// KeyID follows our convention (hex SHA-256 of the SPKI DER); key IDs are
// the application's choice, and their verifier skips mismatching ones.
func (v sslibVerifier) KeyID() (string, error) {
	der, err := x509.MarshalPKIXPublicKey(v.pub)
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), err
}
func (v sslibVerifier) Public() crypto.PublicKey { return v.pub }

// sslibSigner keeps go-securesystemslib's own key ID convention (an SSH
// fingerprint), which we must accept as a mere hint.
type sslibSigner struct {
	sslibVerifier
	priv ed25519.PrivateKey
}

func (s sslibSigner) KeyID() (string, error) { return dsse.SHA256KeyID(s.pub) }

func (s sslibSigner) Sign(_ context.Context, data []byte) ([]byte, error) {
	return ed25519.Sign(s.priv, data), nil
}

func TestEnvelopeVerifiesWithSecureSystemsLib(t *testing.T) {
	ctx := context.Background()
	s := newSigner(t, signer.Ed25519)
	env := &Envelope{PayloadType: PayloadType, Payload: []byte(`{"hello":"world"}`), Signatures: []Signature{}}
	if err := env.Sign(ctx, s); err != nil {
		t.Fatal(err)
	}
	b, err := env.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var theirs dsse.Envelope
	if err := json.Unmarshal(b, &theirs); err != nil {
		t.Fatal(err)
	}
	v, err := dsse.NewEnvelopeVerifier(sslibVerifier{s.Public().Crypto().(ed25519.PublicKey)})
	if err != nil {
		t.Fatal(err)
	}
	accepted, err := v.Verify(ctx, &theirs)
	if err != nil {
		t.Fatalf("go-securesystemslib rejects our envelope: %v", err)
	}
	if accepted[0].KeyID != s.Public().ID() {
		t.Errorf("their key ID %s differs from ours %s", accepted[0].KeyID, s.Public().ID())
	}
}

func TestSecureSystemsLibEnvelopeVerifiesHere(t *testing.T) {
	ctx := context.Background()
	pub, priv, _ := ed25519.GenerateKey(nil)
	es, err := dsse.NewEnvelopeSigner(sslibSigner{sslibVerifier{pub}, priv})
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := es.SignPayload(ctx, PayloadType, []byte(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(theirs)
	env, err := ParseEnvelope(b)
	if err != nil {
		t.Fatalf("their envelope does not parse here: %v", err)
	}
	key, _ := signer.NewPublicKey(pub)
	if v := env.Verify([]*signer.PublicKey{key}); len(v.Signers) != 1 {
		t.Fatalf("their signature does not verify here: %v", v.Rejected)
	}
}

func TestThresholdCountsDistinctKeys(t *testing.T) {
	ctx := context.Background()
	a, b, c := newSigner(t, signer.Ed25519), newSigner(t, signer.ECDSAP256), newSigner(t, signer.Ed25519)
	outsider := newSigner(t, signer.Ed25519)
	keys := []*signer.PublicKey{a.Public(), b.Public(), c.Public()}
	env := &Envelope{PayloadType: PayloadType, Payload: []byte("payload")}
	for _, s := range []signer.Signer{a, b, outsider} {
		if err := env.Sign(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := env.Sign(ctx, a); !errors.Is(err, ErrAlreadySigned) {
		t.Fatalf("second signature by a: err = %v, want ErrAlreadySigned", err)
	}
	// A copy of a's signature, with and without its key ID, must not count twice.
	dup := env.Signatures[0]
	env.Signatures = append(env.Signatures, dup, Signature{Sig: dup.Sig})
	// A signature claiming c's key ID but made by the outsider must not count.
	env.Signatures = append(env.Signatures, Signature{KeyID: c.Public().ID(), Sig: env.Signatures[2].Sig})

	v := env.Verify(keys)
	if len(v.Signers) != 2 || v.Signers[0].ID() != a.Public().ID() || v.Signers[1].ID() != b.Public().ID() {
		t.Fatalf("signers = %v, want a and b", v.Signers)
	}
	if len(v.Rejected) != 4 {
		t.Fatalf("rejected = %q, want 4 (outsider, 2 duplicates, forged key ID)", v.Rejected)
	}
	// The same signatures over a different payload count for nothing.
	env.Payload = []byte("payloaD")
	if v := env.Verify(keys); len(v.Signers) != 0 {
		t.Fatalf("signatures over another payload counted: %v", v.Signers)
	}
	// Nor under another payload type (PAE binds it).
	env.Payload, env.PayloadType = []byte("payload"), "application/other"
	if v := env.Verify(keys); len(v.Signers) != 0 {
		t.Fatal("signatures under another payload type counted")
	}
}

func TestParseEnvelopeErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"not json", `hello`, "invalid JSON"},
		{"truncated", `{"payload":"e30=","payloadType":"x","signatures":[`, "truncated"},
		{"missing type", `{"payload":"e30=","signatures":[]}`, "payloadType: missing"},
		{"missing payload", `{"payloadType":"x","signatures":[]}`, "payload: missing"},
		{"missing signatures", `{"payload":"e30=","payloadType":"x"}`, "signatures: missing"},
		{"url base64", `{"payload":"e30_","payloadType":"x","signatures":[]}`, "standard base64"},
		{"unpadded", `{"payload":"e30","payloadType":"x","signatures":[]}`, "standard base64"},
		{"unknown field", `{"payload":"e30=","payloadType":"x","signatures":[],"extra":1}`, `unknown field "extra"`},
		{"duplicate field", `{"payload":"e30=","payload":"e30=","payloadType":"x","signatures":[]}`, `duplicate key "payload"`},
		{"empty sig", `{"payload":"e30=","payloadType":"x","signatures":[{"sig":""}]}`, "signatures[0].sig"},
		{"missing sig", `{"payload":"e30=","payloadType":"x","signatures":[{"keyid":"a"}]}`, "signatures[0].sig: missing"},
		{"trailing", `{"payload":"e30=","payloadType":"x","signatures":[]} {}`, "after the JSON value"},
		{"wrong type", `{"payload":1,"payloadType":"x","signatures":[]}`, `field "payload"`},
		{"too large", `{"payload":"` + strings.Repeat("A", MaxEnvelopeSize) + `"}`, "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseEnvelope([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func FuzzParseEnvelope(f *testing.F) {
	f.Add([]byte(`{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"keyid":"k","sig":"AAAA"}]}`))
	f.Add([]byte(`{"payload":"","payloadType":"x","signatures":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := ParseEnvelope(data)
		if err != nil {
			return
		}
		// Marshal is a fixed point: what we write parses to the same
		// envelope and is written again byte for byte.
		out, err := env.Marshal()
		if err != nil {
			return // within the parse limit, but indentation pushed it over
		}
		again, err := ParseEnvelope(out)
		if err != nil {
			t.Fatalf("our own output does not parse: %v", err)
		}
		out2, _ := again.Marshal()
		if !bytes.Equal(out, out2) {
			t.Fatalf("marshal is not stable:\n%s\n%s", out, out2)
		}
	})
}

// TestAttackTwoFacedEnvelope: encoding/json matches object keys to fields
// case-insensitively and keeps the last, so an envelope with "payload" (an
// unsigned draft) and "PAYLOAD"/"Signatures" (a signed release) would read
// as the signed release here and as the draft in other DSSE readers.
// Object keys must be exactly the DSSE field names.
func TestAttackTwoFacedEnvelope(t *testing.T) {
	s := newSigner(t, signer.Ed25519)
	signed := &Envelope{PayloadType: PayloadType, Payload: []byte(`{"the":"signed release"}`)}
	if err := signed.Sign(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	b64 := func(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
	twoFaced := `{"payload":"` + b64([]byte(`{"the":"draft"}`)) + `","payloadType":"` + PayloadType + `","signatures":[],` +
		`"PAYLOAD":"` + b64(signed.Payload) + `","Signatures":[{"keyid":"` + s.Public().ID() + `","sig":"` + b64(signed.Signatures[0].Sig) + `"}]}`
	env, err := ParseEnvelope([]byte(twoFaced))
	if err == nil {
		t.Fatalf("two-faced envelope accepted; it reads as %q with %d signatures", env.Payload, len(env.Signatures))
	}
	if !strings.Contains(err.Error(), `unknown field "PAYLOAD"`) {
		t.Errorf("err = %v; want it to name the field", err)
	}
	// Each variant alone is refused too.
	for _, doc := range []string{
		`{"Payload":"","payloadType":"a","signatures":[]}`,
		`{"payload":"","payloadType":"a","signatures":[{"KeyID":"","sig":"AA=="}]}`,
		`{"payload":"","payloadtype":"a","signatures":[]}`,
	} {
		if _, err := ParseEnvelope([]byte(doc)); err == nil {
			t.Errorf("%s accepted", doc)
		}
	}
}
