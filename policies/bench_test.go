package policies

import (
	"context"
	"crypto/ed25519"
	"testing"

	"ssms.dev/ssms/manifest"
)

// BenchmarkCheckRelease measures the budget "checking a 3-of-5 envelope
// ≤ 0.3 ms": parse the statement, check the product, verify signatures
// until the threshold of distinct maintainer keys is known. Ed25519 is the
// floor, measured in the same run: the check costs at least 3 of them.
func BenchmarkCheckRelease(b *testing.B) {
	ms := maintainers(b, "a", "b", "c", "d", "e")
	p := newPolicy(b, 1, ms, 3, 5, 3)
	env := releaseEnvelope(b, p, "smp-server", manifest.TypeRelease)
	for _, m := range ms[1:4] {
		env.Sign(context.Background(), m.s)
	}
	raw, _ := env.Marshal()
	b.Run("3of5", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := p.CheckRelease(env); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("3of5-from-bytes", func(b *testing.B) {
		for b.Loop() {
			e, err := manifest.ParseEnvelope(raw)
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := p.CheckRelease(e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ed25519-floor-x3", func(b *testing.B) {
		pae := manifest.PAE(env.PayloadType, env.Payload)
		pubs := make([]ed25519.PublicKey, 3)
		for i, m := range ms[1:4] {
			pubs[i] = m.s.Public().Crypto().(ed25519.PublicKey)
		}
		for b.Loop() {
			for i, pub := range pubs {
				if !ed25519.Verify(pub, pae, env.Signatures[i].Sig) {
					b.Fatal("bad signature")
				}
			}
		}
	})
}
