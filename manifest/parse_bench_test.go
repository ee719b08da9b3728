package manifest

import (
	"context"
	"testing"

	"ssms.dev/ssms/signer"
)

// BenchmarkParse measures strict parsing of a signed release: what a
// verifier or monitor pays per entry before any signature check.
func BenchmarkParse(b *testing.B) {
	_, payload := exampleRelease()
	env := &Envelope{PayloadType: PayloadType, Payload: payload}
	for range 2 {
		priv, _ := signer.Generate(signer.Ed25519)
		s, _ := signer.NewKeySigner(priv)
		env.Sign(context.Background(), s)
	}
	raw, _ := env.Marshal()
	b.Run("envelope", func(b *testing.B) {
		for b.Loop() {
			if _, err := ParseEnvelope(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("release", func(b *testing.B) {
		for b.Loop() {
			if _, err := ParseRelease(payload); err != nil {
				b.Fatal(err)
			}
		}
	})
}
