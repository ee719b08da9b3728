package policies

import (
	"context"
	"errors"
	"strings"
	"testing"

	"ssms.dev/ssms/manifest"
)

// rebuildFixture is a policy with three rebuilders (threshold 2) and a
// release under it.
func rebuildFixture(t *testing.T) (*Policy, []maintainer, *manifest.ReleaseStatement, []byte) {
	t.Helper()
	ms := maintainers(t, "alice", "bob")
	rs := maintainers(t, "r1", "r2", "r3")
	p := newPolicy(t, 1, ms, 1, 1, 1)
	for _, r := range rs {
		p.Rebuilders.Keys = append(p.Rebuilders.Keys, NewKey(r.name, r.s.Public()))
	}
	p.Rebuilders.Threshold = 2
	payload, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if p, err = ParsePolicy(payload); err != nil {
		t.Fatal(err)
	}
	rel := releaseEnvelope(t, p, "smp-server", manifest.TypeRelease)
	st, err := manifest.ParseRelease(rel.Payload)
	if err != nil {
		t.Fatal(err)
	}
	return p, rs, st, rel.Payload
}

func attest(t *testing.T, st *manifest.ReleaseStatement, ref string, edit func(*manifest.RebuildPredicate, []manifest.Subject), by ...maintainer) *manifest.Envelope {
	t.Helper()
	subjects := append([]manifest.Subject(nil), st.Subject...)
	pr := manifest.RebuildPredicate{
		Release: ref, Product: st.Predicate.Product, Version: st.Predicate.Version, Builder: "r",
		Source: st.Predicate.Source, Build: manifest.Recipe{Toolchain: "go1.26.8", Command: []string{"go", "build"}, Environment: map[string]string{}},
		Started: "2026-11-22T00:00:00Z", Finished: "2026-11-22T00:01:00Z", Outcome: manifest.OutcomeReproduced,
	}
	if edit != nil {
		edit(&pr, subjects)
	}
	_, payload, err := manifest.NewRebuild(subjects, pr)
	if err != nil {
		t.Fatal(err)
	}
	env := &manifest.Envelope{PayloadType: manifest.PayloadType, Payload: payload}
	for _, m := range by {
		if err := env.Sign(context.Background(), m.s); err != nil {
			t.Fatal(err)
		}
	}
	return env
}

func TestApproveRebuilds(t *testing.T) {
	p, rs, st, payload := rebuildFixture(t)
	ref := ReleaseRef(payload)
	good := func(m maintainer) *manifest.Envelope { return attest(t, st, ref, nil, m) }

	ap, err := p.ApproveRebuilds(st, payload, []*manifest.Envelope{good(rs[0]), good(rs[2])})
	if err != nil || strings.Join(ap.Builders, ",") != "r1,r3" {
		t.Fatalf("two distinct rebuilders: %v, %+v", err, ap)
	}

	stranger := maintainers(t, "mallory")[0]
	otherRelease := ReleaseRef([]byte("another release"))
	for _, tt := range []struct {
		name string
		atts []*manifest.Envelope
		want string
	}{
		{"one rebuilder twice", []*manifest.Envelope{good(rs[0]), good(rs[0])}, "counted already"},
		{"one attestation signed by two", []*manifest.Envelope{attest(t, st, ref, nil, rs[0], rs[1])}, "1 of 2"},
		{"not a rebuilder", []*manifest.Envelope{good(rs[0]), good(stranger)}, "no valid signature by a rebuilder"},
		{"another release", []*manifest.Envelope{good(rs[0]), attest(t, st, otherRelease, nil, rs[1])}, "names release"},
		{"another version", []*manifest.Envelope{good(rs[0]), attest(t, st, ref, func(p *manifest.RebuildPredicate, _ []manifest.Subject) { p.Version = "9.9.9" }, rs[1])}, "9.9.9"},
		{"another digest", []*manifest.Envelope{good(rs[0]), attest(t, st, ref, func(_ *manifest.RebuildPredicate, s []manifest.Subject) { s[0].Digest.SHA256 = strings.Repeat("f", 64) }, rs[1])}, "rebuilt as sha256:fff"},
		{"another artifact", []*manifest.Envelope{good(rs[0]), attest(t, st, ref, func(_ *manifest.RebuildPredicate, s []manifest.Subject) { s[0].Name = "b" }, rs[1])}, "artifact a was not rebuilt"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.ApproveRebuilds(st, payload, tt.atts)
			var te *ThresholdError
			if !errors.As(err, &te) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a threshold error mentioning %q", err, tt.want)
			}
		})
	}

	// A tampered attestation does not verify.
	bad := good(rs[1])
	bad.Payload = []byte(strings.Replace(string(bad.Payload), "2026-11-22T00:01:00Z", "2026-11-22T00:02:00Z", 1))
	if _, err := p.VerifyRebuild(bad); err == nil {
		t.Fatal("a tampered attestation verified")
	}
}
