package policies

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"ssms.dev/ssms/manifest"
)

// ErrRebuild means an attestation does not vouch for the release at hand.
var ErrRebuild = errors.New("rebuild attestation does not match the release")

// ReleaseRef is how a rebuild attestation names a release: the SHA-256 of
// the release envelope's payload. Signatures are not covered, so adding a
// maintainer signature later does not orphan the attestations.
func ReleaseRef(releasePayload []byte) string {
	sum := sha256.Sum256(releasePayload)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Rebuild is a verified attestation: its statement and the one rebuilder
// key that signed it.
type Rebuild struct {
	Statement *manifest.RebuildStatement
	KeyID     string
	Name      string // the key's name in the policy
}

// VerifyRebuild checks that env is a rebuild attestation signed by one of
// p's rebuilders. It says nothing yet about which release it is for.
func (p *Policy) VerifyRebuild(env *manifest.Envelope) (*Rebuild, error) {
	if env.PayloadType != manifest.PayloadType {
		return nil, fmt.Errorf("%w: %q; an attestation has %q", ErrPayloadType, env.PayloadType, manifest.PayloadType)
	}
	st, err := manifest.ParseRebuild(env.Payload)
	if err != nil {
		return nil, err
	}
	v := env.Verify(p.rebuilderKeys)
	if len(v.Signers) == 0 {
		msg := "no valid signature by a rebuilder of policy version " + fmt.Sprint(p.Version)
		if len(v.Rejected) > 0 {
			msg += ": " + strings.Join(v.Rejected, "; ")
		}
		return nil, fmt.Errorf("rebuild attestation by %q: %s", st.Predicate.Builder, msg)
	}
	// An attestation has one rebuilder key; if several signed, the first counts.
	id := v.Signers[0].ID()
	return &Rebuild{Statement: st, KeyID: id, Name: p.names[id]}, nil
}

// Matches checks that r vouches for exactly this release: it names the
// release's payload digest, its product and version, and rebuilt the same
// artifacts to the same digests.
func (r *Rebuild) Matches(release *manifest.ReleaseStatement, releaseRef string) error {
	pr := r.Statement.Predicate
	switch {
	case pr.Release != releaseRef:
		return fmt.Errorf("%w: it names release %s, not %s", ErrRebuild, pr.Release, releaseRef)
	case pr.Product != release.Predicate.Product || pr.Version != release.Predicate.Version:
		return fmt.Errorf("%w: it names %s %s, not %s %s", ErrRebuild, pr.Product, pr.Version, release.Predicate.Product, release.Predicate.Version)
	case pr.Outcome != manifest.OutcomeReproduced:
		return fmt.Errorf("%w: outcome %q", ErrRebuild, pr.Outcome)
	}
	got := r.Statement.Subject
	if len(got) != len(release.Subject) {
		return fmt.Errorf("%w: %d artifacts rebuilt, the release has %d", ErrRebuild, len(got), len(release.Subject))
	}
	for _, want := range release.Subject {
		s, ok := manifest.FindSubject(got, want.Name)
		if !ok {
			return fmt.Errorf("%w: artifact %s was not rebuilt", ErrRebuild, want.Name)
		}
		if s.Digest.SHA256 != want.Digest.SHA256 {
			return fmt.Errorf("%w: artifact %s rebuilt as sha256:%s, released as sha256:%s", ErrRebuild, want.Name, s.Digest.SHA256, want.Digest.SHA256)
		}
	}
	return nil
}

// RebuildApproval lists the rebuilders whose attestations counted.
type RebuildApproval struct {
	Need     int
	Builders []string // names, distinct keys, in attestation order
	Rejected []string // why other attestations did not count
}

// ApproveRebuilds counts the distinct rebuilder keys among atts that vouch
// for release (whose envelope payload is releasePayload), and fails unless
// they reach the policy's rebuild threshold. An attestation that does not
// verify or does not match is not an error by itself: it does not count.
func (p *Policy) ApproveRebuilds(release *manifest.ReleaseStatement, releasePayload []byte, atts []*manifest.Envelope) (*RebuildApproval, error) {
	ref := ReleaseRef(releasePayload)
	ap := &RebuildApproval{Need: p.Rebuilders.Threshold}
	seen := map[string]bool{}
	for i, env := range atts {
		r, err := p.VerifyRebuild(env)
		if err == nil {
			err = r.Matches(release, ref)
		}
		switch {
		case err != nil:
			ap.Rejected = append(ap.Rejected, fmt.Sprintf("attestation %d: %v", i, err))
		case seen[r.KeyID]:
			ap.Rejected = append(ap.Rejected, fmt.Sprintf("attestation %d: rebuilder %s counted already", i, r.Name))
		default:
			seen[r.KeyID] = true
			ap.Builders = append(ap.Builders, r.Name)
		}
	}
	if len(ap.Builders) >= ap.Need {
		return ap, nil
	}
	what := fmt.Sprintf("rebuilds of %s %s", release.Predicate.Product, release.Predicate.Version)
	err := &ThresholdError{What: what, Action: "rebuild", Have: len(ap.Builders), Need: ap.Need, Signed: ap.Builders, Rejected: ap.Rejected}
	for _, k := range p.Rebuilders.Keys {
		if !seen[k.ID] {
			err.Missing = append(err.Missing, k.Name)
		}
	}
	return nil, err
}
