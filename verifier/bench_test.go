package verifier

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"
)

// BenchmarkVerify measures the budget's bundle: 3 maintainer signatures,
// 3 witness cosignatures, 2 rebuild attestations and their inclusion
// proofs, the artifact hashed by the caller (budget: at most 1 ms median
// and 64 KiB allocated per verification). Floor runs, in the same run,
// the Ed25519 verifications a verification cannot avoid: the release's 3,
// the head's 3 cosignatures and log signature, the 2 attestations', and
// the first-seen checkpoint's 3 cosignatures and log signature: 13.
func BenchmarkVerify(b *testing.B) {
	s := newScenario(b)
	req := s.request(s.bundle(), nil)
	b.Run("verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Verify(req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("floor", func(b *testing.B) {
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		msg := make([]byte, 256)
		sig := ed25519.Sign(priv, msg)
		for b.Loop() {
			for range 13 {
				if !ed25519.Verify(pub, msg, sig) {
					b.Fatal("bad signature")
				}
			}
		}
	})
}
