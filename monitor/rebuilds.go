package monitor

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
)

// DefaultRebuildGrace is how long a release may wait for its rebuild
// threshold before the monitor raises the alarm: long enough for
// volunteer rebuilders over a weekend, short enough that an unrebuilt
// release does not go unnoticed while clients install it.
const DefaultRebuildGrace = 72 * time.Hour

// awaiting is a release that has not yet reached its rebuild threshold.
type awaiting struct {
	Index    int64              `json:"index"`
	Product  string             `json:"product"`
	Version  string             `json:"version"`
	Subjects []manifest.Subject `json:"subjects"`
	Need     int                `json:"need"`
	Seen     string             `json:"seen"`     // when this monitor first saw it (its own clock)
	Builders []string           `json:"builders"` // key IDs of the rebuilders counted so far
	Names    []string           `json:"names"`
}

// expectRebuilds starts waiting for rebuilds of a release entering the log.
func (m *Monitor) expectRebuilds(st *state, index int64, digest string, rel *manifest.ReleaseStatement, need int) {
	if need <= 0 {
		return
	}
	st.Awaiting["sha256:"+digest] = &awaiting{
		Index: index, Product: rel.Predicate.Product, Version: rel.Predicate.Version,
		Subjects: rel.Subject, Need: need, Seen: manifest.FormatTime(m.now()),
	}
}

// applyRebuild counts a verified attestation toward the release it names.
func (m *Monitor) applyRebuild(st *state, pass *Pass, index int64, r *policies.Rebuild) {
	bad := func(format string, args ...any) {
		pass.Findings = append(pass.Findings, Finding{Kind: KindBadAttestation, Index: index, Message: fmt.Sprintf(format, args...)})
	}
	pr := r.Statement.Predicate
	pass.facts.Rebuilds = append(pass.facts.Rebuilds, IndexedRebuild{Index: index, Release: pr.Release, Product: pr.Product,
		Version: pr.Version, Builder: r.Name, KeyID: r.KeyID, Outcome: pr.Outcome, Finished: pr.Finished, Subjects: r.Statement.Subject})
	a, ok := st.Awaiting[pr.Release]
	if !ok {
		if !st.knows(pr.Release) {
			bad("rebuild of %s %s by %s names release %s, which is not in the log", pr.Product, pr.Version, r.Name, pr.Release)
		}
		return // an attestation beyond the threshold, or for a release that needs none
	}
	rel := &manifest.ReleaseStatement{Subject: a.Subjects, Predicate: manifest.ReleasePredicate{Product: a.Product, Version: a.Version}}
	if err := r.Matches(rel, pr.Release); err != nil {
		bad("rebuild by %s of entry %d: %v", r.Name, a.Index, err)
		return
	}
	if slices.Contains(a.Builders, r.KeyID) {
		return
	}
	a.Builders, a.Names = append(a.Builders, r.KeyID), append(a.Names, r.Name)
	if len(a.Builders) >= a.Need {
		delete(st.Awaiting, pr.Release)
	}
}

// overdueRebuilds raises an alert, on every pass, for each release still
// short of its rebuild threshold after the grace period.
func (m *Monitor) overdueRebuilds(st *state, pass *Pass) {
	grace := m.RebuildGrace
	if grace == 0 {
		grace = DefaultRebuildGrace
	}
	var overdue []*awaiting
	for _, a := range st.Awaiting {
		seen, err := manifest.ParseTime(a.Seen)
		if err != nil || m.now().Sub(seen) >= grace {
			overdue = append(overdue, a)
		}
	}
	slices.SortFunc(overdue, func(x, y *awaiting) int { return int(x.Index - y.Index) })
	for _, a := range overdue {
		by := "nobody"
		if len(a.Names) > 0 {
			by = strings.Join(a.Names, ", ")
		}
		pass.Findings = append(pass.Findings, Finding{Kind: KindRebuildMissing, Index: a.Index, Message: fmt.Sprintf(
			"%s %s has %d of %d rebuild attestations %s after it entered the log (rebuilt by %s)",
			a.Product, a.Version, len(a.Builders), a.Need, grace, by)})
	}
}

// knows reports whether a release with this reference was logged.
func (s *state) knows(ref string) bool {
	digest := strings.TrimPrefix(ref, "sha256:")
	for _, versions := range s.Releases {
		for _, r := range versions {
			if r.Digest == digest {
				return true
			}
		}
	}
	for _, seqs := range s.BySequence {
		for _, r := range seqs {
			if r.Digest == digest {
				return true
			}
		}
	}
	return false
}
