package monitor

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
)

// apply records a verified entry and reports what is wrong with it, in log
// order: only order tells which of two conflicting releases came first.
func (m *Monitor) apply(st *state, pol *policies.Policy, pass *Pass, index int64, c checked) {
	report := func(kind string, other int64, format string, args ...any) {
		f := Finding{Kind: kind, Index: index, Message: fmt.Sprintf(format, args...)}
		if other >= 0 {
			f.Other = &other
		}
		pass.Findings = append(pass.Findings, f)
	}
	if c.err != nil {
		report(c.kind, -1, "%v", c.err)
		return
	}
	if c.rebuild != nil {
		m.applyRebuild(st, pass, index, c.rebuild)
		return
	}
	pass.Releases++
	p := c.st.Predicate
	if c.approval != nil {
		report(KindBelowThreshold, -1, "%s %s %s: %v", p.Type, p.Product, p.Version, c.approval)
		return // not a release anyone should install: do not let it shape the checks below
	}
	sum := sha256.Sum256(c.env.Payload)
	digest := hex.EncodeToString(sum[:])
	if st.Releases[p.Product] == nil {
		st.Releases[p.Product] = map[string]record{}
		st.BySequence[p.Product] = map[uint64]record{}
	}
	byVersion, bySeq := st.Releases[p.Product], st.BySequence[p.Product]
	if r, ok := byVersion[p.Version]; ok && r.Digest != digest {
		report(KindEquivocation, r.Index, "two different releases of %s %s: entries %d and %d", p.Product, p.Version, r.Index, index)
	}
	if r, ok := bySeq[p.Sequence]; ok && r.Digest != digest {
		report(KindEquivocation, r.Index, "two different releases of %s with sequence %d: entries %d and %d", p.Product, p.Sequence, r.Index, index)
	}
	if r, ok := bySeq[p.Sequence]; ok && r.Digest == digest {
		return // the same release logged again (say, with one more signature)
	}
	last := st.Last[p.Product]
	switch {
	case p.Sequence <= last:
		report(KindSequence, -1, "%s %s has sequence %d, not above %d", p.Product, p.Version, p.Sequence, last)
	case p.Sequence != last+1:
		report(KindSequence, -1, "%s %s has sequence %d after %d: %d missing", p.Product, p.Version, p.Sequence, last, p.Sequence-last-1)
	}
	m.expectRebuilds(st, index, digest, c.st, c.need)
	pass.facts.Releases = append(pass.facts.Releases, IndexedRelease{
		Index: index, Ref: "sha256:" + digest, Product: p.Product, Version: p.Version, Sequence: p.Sequence,
		Type: p.Type, Released: p.Released, Source: p.Source, Subjects: c.st.Subject, Signers: c.signers,
		Need: c.need, Policy: pol.Version,
	})
	if _, ok := byVersion[p.Version]; !ok {
		byVersion[p.Version] = record{index, digest}
	}
	if _, ok := bySeq[p.Sequence]; !ok {
		bySeq[p.Sequence] = record{index, digest}
	}
	st.Last[p.Product] = max(last, p.Sequence)
}

// rotate checks a logged policy against the one in force and, if it is
// its valid successor, makes it the policy in force.
func (m *Monitor) rotate(st *state, pol *policies.Policy, pass *Pass, index int64, entry []byte, env *manifest.Envelope) *policies.Policy {
	if next, err := policies.Parse(env); err == nil && next.Version <= pol.Version && m.accepted(st, next.Digest()) {
		return pol // a policy of the accepted chain, logged (again)
	}
	accepted, rot, err := policies.VerifyNext(pol, env)
	if err != nil {
		pass.Findings = append(pass.Findings, Finding{Kind: KindBadRotation, Index: index, Message: err.Error()})
		return pol
	}
	st.Policies = append(st.Policies, entry)
	pass.facts.Policies = append(pass.facts.Policies, IndexedPolicy{Index: index, Version: accepted.Version,
		Digest: accepted.Digest(), ByOld: rot.ByOld.Signers, ByNew: rot.ByNew.Signers, Policy: env.Payload})
	return accepted
}

// accepted reports whether digest is the pinned policy or a rotation
// accepted since.
func (m *Monitor) accepted(st *state, digest string) bool {
	if m.Pinned.Digest() == digest {
		return true
	}
	for _, raw := range st.Policies {
		env, _ := manifest.ParseEnvelope(raw)
		if p, err := policies.Parse(env); err == nil && p.Digest() == digest {
			return true
		}
	}
	return false
}
