package explorer

import (
	"fmt"
	"strings"
	"time"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/translog"
	"ssms.dev/ssms/updater/report"
	"ssms.dev/ssms/verifier"
	"ssms.dev/ssms/witness"
)

// checkReport checks what a report carries that anyone can check without
// trusting its sender: the bundle with the verifier under the monitor's
// pinned policy, the checkpoint with the log's key and the policy's
// witnesses, fork evidence against the log's key. Each result is a Fact;
// nothing the reporter merely states becomes one.
func (e *Explorer) checkReport(r *report.Report, _ time.Time) []Fact {
	var facts []Fact
	if b := r.Evidence.BundleBytes(); len(b) > 0 {
		facts = append(facts, e.checkBundle(r, b))
	}
	if r.Evidence.Checkpoint != "" {
		facts = append(facts, e.checkCheckpoint([]byte(r.Evidence.Checkpoint)))
	}
	if r.Evidence.Fork != "" {
		f := Fact{What: "fork"}
		ev, err := translog.ParseEvidence([]byte(r.Evidence.Fork))
		if err == nil {
			f.Detail, err = ev.Check(e.cfg.VKey)
		}
		if f.OK = err == nil; err != nil {
			f.Detail = "the fork evidence does not hold: " + err.Error()
		} else {
			f.Alarm = true
			f.Detail = "the log signed two views that cannot both be true: " + f.Detail
		}
		facts = append(facts, f)
	}
	return facts
}

// checkBundle verifies the bundle as a publisher would (every check but
// minLogAge), at the report's time and for the report's product, with
// the release's own signed artifacts standing in for the downloads,
// which the report does not carry.
func (e *Explorer) checkBundle(r *report.Report, b []byte) Fact {
	f := Fact{What: "bundle"}
	arts := []verifier.Artifact{{Name: "?"}}
	var payload []byte
	if bu, err := verifier.ParseBundle(b); err == nil {
		if env, err := manifest.ParseEnvelope(bu.Release.Entry); err == nil {
			payload = env.Payload
			if rel, err := manifest.ParseRelease(env.Payload); err == nil {
				arts = arts[:0]
				for _, s := range rel.Subject {
					size, _ := s.Size()
					arts = append(arts, verifier.Artifact{Name: s.Name, Digest: s.Digest, Size: size})
				}
			}
		}
	}
	res, err := verifier.Verify(verifier.Request{Bundle: b, Product: r.Product, Artifacts: arts, Pinned: e.cfg.Pinned,
		Now: reportTime(r), Mode: verifier.ModePublish})
	if err != nil {
		f.Detail = fmt.Sprintf("the bundle does not verify under the monitor's policy at %s: %v", r.Time, err)
		return f
	}
	p := res.Release.Predicate
	// The verifier alone takes a chain cut before a rotation (it has no
	// memory here): the bundle must reach the policy the monitor has in
	// force, and its release must be the one the monitor verified at that
	// entry, or it proves nothing this monitor can vouch for.
	e.mu.RLock()
	current, known, mine := e.m.current(), e.m.releases[res.Index], e.m.checkpoint
	e.mu.RUnlock()
	if res.Policy.Version < current.Version || (res.Policy.Version == current.Version && res.Policy.Digest() != current.Digest()) {
		f.Detail = fmt.Sprintf("the bundle's policy chain ends at version %d, not at version %d (%s) that the monitor has in force: it leaves a rotation out, and is not taken as verified", res.Policy.Version, current.Version, current.Digest())
		return f
	}
	ref := policies.ReleaseRef(payload)
	switch {
	case known != nil && known.Ref != ref:
		f.Alarm = true
		f.Detail = fmt.Sprintf("the bundle's release at entry %d is %s %s (sequence %d), but the monitor verified another release at that entry (%s %s): the log showed the reporter another history", res.Index, p.Product, p.Version, p.Sequence, known.Product, known.Version)
		return f
	case known == nil && mine != nil && res.Index < mine.Size:
		f.Alarm = true
		f.Detail = fmt.Sprintf("the bundle's release %s %s is at entry %d, which the monitor verified and found no such release at: the log showed the reporter another history", p.Product, p.Version, res.Index)
		return f
	case known == nil:
		f.Detail = fmt.Sprintf("the bundle verifies, but its entry %d is beyond what this monitor has seen (size %d): not yet confirmed", res.Index, sizeOf(mine))
		return f
	}
	f.OK = true
	f.Detail = fmt.Sprintf("the bundle verifies under the monitor's policy at %s: %s %s (sequence %d), entry %d, signed by %s, under a checkpoint of size %d",
		r.Time, p.Product, p.Version, p.Sequence, res.Index, strings.Join(res.Signers, ", "), res.Head.Size)
	return f
}

func sizeOf(cp *translog.SignedCheckpoint) int64 {
	if cp == nil {
		return 0
	}
	return cp.Size
}

// checkCheckpoint checks the log's signature and the cosignatures, and
// compares the checkpoint with the one the monitor verified: two roots
// for one size are a fork.
func (e *Explorer) checkCheckpoint(raw []byte) Fact {
	f := Fact{What: "checkpoint"}
	v, err := translog.NewVerifier(e.cfg.VKey)
	if err != nil {
		f.Detail = err.Error()
		return f
	}
	cp, err := translog.OpenCheckpoint(raw, v.Name(), v)
	if err != nil {
		f.Detail = "not a checkpoint signed by the log: " + err.Error()
		return f
	}
	e.mu.RLock()
	pol, mine := e.m.current(), e.m.checkpoint
	e.mu.RUnlock()
	f.OK = true
	f.Detail = fmt.Sprintf("signed by the log %s: size %d, root %s", cp.Origin, cp.Size, cp.Hash)
	if q, _ := witness.CheckQuorum(raw, pol.Witnesses.VKeys, 0, time.Now(), 0); q != nil && len(q.Witnesses) > 0 {
		f.Detail += "; cosigned by " + strings.Join(q.Witnesses, ", ")
	}
	if mine != nil && mine.Size == cp.Size && mine.Hash != cp.Hash {
		f.Alarm = true
		f.Detail += fmt.Sprintf("; the monitor verified root %s for that size: the log showed two views (fork)", mine.Hash)
	}
	return f
}
