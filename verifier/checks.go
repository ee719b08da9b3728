package verifier

import (
	"crypto/subtle"

	"ssms.dev/ssms/manifest"
)

// checkArtifacts demands at least one artifact, each named in the
// release, with its digest and, where the release signs one, its size.
func checkArtifacts(rel *manifest.ReleaseStatement, arts []Artifact) error {
	if len(arts) == 0 {
		return fail(ErrArtifact, "no artifact given: a release is verified for the files that will run")
	}
	seen := map[string]bool{}
	for _, a := range arts {
		if seen[a.Name] {
			return fail(ErrArtifact, "%s given twice", a.Name)
		}
		seen[a.Name] = true
		sub, ok := manifest.FindSubject(rel.Subject, a.Name)
		if !ok {
			return fail(ErrArtifact, "%s is not an artifact of %s %s", a.Name, rel.Predicate.Product, rel.Predicate.Version)
		}
		if size, ok := sub.Size(); ok && size != a.Size {
			return fail(ErrArtifact, "%s has %d bytes; the release signs %d", a.Name, a.Size, size)
		}
		// Digests are public; constant time costs nothing and keeps this
		// comparison out of every timing question.
		if subtle.ConstantTimeCompare([]byte(a.Digest.SHA256), []byte(sub.Digest.SHA256)) != 1 {
			return fail(ErrArtifact, "%s has sha256:%s; the release says sha256:%s", a.Name, a.Digest.SHA256, sub.Digest.SHA256)
		}
	}
	return nil
}

// checkOrder demands that an install moves forward: a sequence above the
// installed one (a rollback too: it is a new release of old bytes), and
// for a rollback, the release it returns to in the log. The self-check
// demands the bundle recorded at install.
func checkOrder(p *parsed, rel *manifest.ReleaseStatement, installed *Installed, mode Mode, bundle []byte) error {
	pr := rel.Predicate
	if mode == ModeInstalled {
		if installed != nil && installed.Bundle != digest(bundle) {
			return fail(ErrRollback, "this is not the bundle installed for %s (%s %d); the self-check takes the installed one", pr.Product, installed.Version, installed.Sequence)
		}
		return nil
	}
	if installed != nil && pr.Sequence <= installed.Sequence {
		return fail(ErrRollback, "%s %s has sequence %d; %s %s with sequence %d is installed, and only a higher sequence is an update",
			pr.Product, pr.Version, pr.Sequence, pr.Product, installed.Version, installed.Sequence)
	}
	if pr.Type != manifest.TypeRollback {
		if p.rollbackOf != nil {
			return fail(ErrFormat, "rollbackOf: only a rollback release names the release it returns to")
		}
		return nil
	}
	if p.rollbackOf == nil {
		return fail(ErrRollback, "rollback to %s %s: the bundle does not show that version in the log (rollbackOf)", pr.Product, pr.Version)
	}
	old, err := manifest.ParseRelease(p.rollbackOf.env.Payload)
	switch {
	case err != nil || p.rollbackOf.env.PayloadType != manifest.PayloadType:
		return fail(ErrRollback, "rollbackOf: not a release: %v", err)
	case old.Predicate.Product != pr.Product || old.Predicate.Version != pr.Version || old.Predicate.Type != manifest.TypeRelease:
		return fail(ErrRollback, "rollback to %s %s: rollbackOf is %s %s %s, not that version's release",
			pr.Product, pr.Version, old.Predicate.Type, old.Predicate.Product, old.Predicate.Version)
	case old.Predicate.Sequence >= pr.Sequence:
		return fail(ErrRollback, "rollback with sequence %d: the release it returns to has sequence %d", pr.Sequence, old.Predicate.Sequence)
	case !sameDigests(old.Subject, rel.Subject):
		return fail(ErrRollback, "rollback to %s %s: its artifacts are not that version's", pr.Product, pr.Version)
	}
	return nil
}

func sameDigests(a, b []manifest.Subject) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Digest != b[i].Digest {
			return false
		}
	}
	return true
}
