package verifier

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/translog"
	"ssms.dev/ssms/witness"
)

// logKey is the policy's log that signed a checkpoint.
type logKey struct {
	vkey   string
	list   note.Verifiers // the key alone, made once for every checkpoint opened
	origin string
}

// openHead checks that the head is signed by a log of the policy, found by
// the checkpoint's origin line, and returns it with that log's key.
func openHead(signed []byte, pol *policies.Policy) (*translog.SignedCheckpoint, *logKey, error) {
	origin, _, _ := strings.Cut(string(signed), "\n")
	for _, l := range pol.Logs {
		if l.Origin != origin {
			continue
		}
		v, err := translog.NewVerifier(l.VKey)
		if err != nil {
			return nil, nil, fail(ErrUnknownLog, "%v", err)
		}
		key := &logKey{vkey: l.VKey, list: note.VerifierList(v), origin: origin}
		cp, err := translog.OpenCheckpointWith(signed, origin, key.list)
		if err != nil {
			return nil, nil, fail(ErrUnknownLog, "head: %v", err)
		}
		return cp, key, nil
	}
	return nil, nil, fail(ErrUnknownLog, "head: origin %q is not a log of policy version %d", origin, pol.Version)
}

// included checks that d's entry is in the tree of cp at its proof's index.
func included(f field, d doc, cp *translog.SignedCheckpoint) error {
	if err := translog.VerifyInclusion(d.proof.Index, cp.Size, translog.LeafHash(d.entry), d.proof.Hashes, cp.Hash); err != nil {
		return fail(ErrInclusion, "%s: entry %d in the tree of size %d: %v", f, d.proof.Index, cp.Size, err)
	}
	return nil
}

// quorum checks the policy's witness quorum on a checkpoint; maxAge > 0
// also demands that a quorum of cosignatures is that fresh at now.
func quorum(what string, signed []byte, pol *policies.Policy, now time.Time, maxAge time.Duration) (*witness.Quorum, error) {
	q, err := witness.CheckQuorum(signed, pol.Witnesses.VKeys, pol.Witnesses.Quorum, now, maxAge)
	switch {
	case errors.Is(err, witness.ErrStale):
		return nil, fail(ErrStale, "%s: %v", what, err)
	case err != nil:
		return nil, fail(ErrQuorum, "%s: %v", what, err)
	}
	return q, nil
}

// consistent checks that new extends old, both signed by the log, with a
// consistency proof from old's size. A proof that rebuilds new's signed
// root from another prefix than old's is a fork, proven; a missing proof,
// or one that does not match new either, proves nothing (ErrConsistency).
func consistent(old, new *translog.SignedCheckpoint, proofs map[int64][]tlog.Hash, key *logKey, what string) error {
	if old.Size == new.Size {
		if old.Hash == new.Hash {
			return nil
		}
		return forkError(key, old, new, nil)
	}
	if old.Size > new.Size {
		return fail(ErrConsistency, "%s: the bundle's checkpoint (size %d) is older than the one this client accepted (size %d); use a newer bundle", what, new.Size, old.Size)
	}
	hashes, ok := proofs[old.Size]
	if !ok {
		return fail(ErrConsistency, "%s: no consistency proof from size %d, the checkpoint this client accepted, to size %d; make the bundle with ssms bundle --since", what, old.Size, new.Size)
	}
	err := translog.VerifyConsistency(old.Checkpoint, new.Checkpoint, hashes)
	if err == nil {
		return nil
	}
	if fe := forkError(key, old, new, hashes); fe != nil {
		return fe
	}
	return fail(ErrConsistency, "%s: the proof from size %d to %d proves nothing: %v", what, old.Size, new.Size, err)
}

// forkError returns a *ForkError if old and new, with hashes, prove a
// fork that anyone holding the log's key can check; else nil.
func forkError(key *logKey, old, new *translog.SignedCheckpoint, hashes []tlog.Hash) error {
	ev := translog.NewEvidence(key.vkey, old.Raw, new.Raw, hashes, "found by the ssms verifier")
	finding, err := ev.Check(key.vkey)
	if err != nil {
		return nil
	}
	return &ForkError{Evidence: ev, Finding: finding}
}

// firstSeen verifies when the release became visible: its first entry
// (the same payload) is approved by the threshold of the policy in force,
// is in a checkpoint signed by the same log and cosigned by a quorum,
// which the head extends. The time is the quorum-th oldest cosignature:
// the moment a quorum of witnesses had seen it, which fewer than a quorum
// of colluding witnesses cannot move earlier. A copy below the threshold
// dates nothing: monitors do not take it for a release. The witnesses are
// those of the policy in force or, if they did not cosign that checkpoint
// (they rotated since), those of the policy the release names, if it is a
// link of the verified chain: the release was published under it.
func firstSeen(p *parsed, rel *manifest.ReleaseStatement, head *translog.SignedCheckpoint, key *logKey, c *chain, now time.Time) (time.Time, error) {
	release := p.release
	if p.first.env.PayloadType != release.env.PayloadType || !bytes.Equal(p.first.env.Payload, release.env.Payload) {
		return time.Time{}, fail(ErrFormat, "firstSeen: its entry is not this release")
	}
	if p.first.proof.Index > release.proof.Index {
		return time.Time{}, fail(ErrFormat, "firstSeen: entry %d comes after the release's entry %d", p.first.proof.Index, release.proof.Index)
	}
	pol := c.inForce
	if p.first.env != release.env { // the release's own entry is approved already
		if _, err := pol.ApproveRelease(p.first.env, rel); err != nil {
			return time.Time{}, fail(ErrThreshold, "firstSeen: entry %d does not date the release: %v", p.first.proof.Index, err)
		}
	}
	cp, err := translog.OpenCheckpointWith(p.first.proof.Checkpoint, key.origin, key.list)
	if err != nil {
		return time.Time{}, fail(ErrUnknownLog, "firstSeen: %v", err)
	}
	if cp.Size > head.Size {
		return time.Time{}, fail(ErrFormat, "firstSeen: its checkpoint (size %d) is newer than the head (size %d)", cp.Size, head.Size)
	}
	if err := included(field{"firstSeen", -1}, p.first, cp); err != nil {
		return time.Time{}, err
	}
	if err := consistent(cp, head, map[int64][]tlog.Hash{cp.Size: p.firstCons}, key, "firstSeen"); err != nil {
		return time.Time{}, err
	}
	const what = "the checkpoint the release was first published under"
	q, err := quorum(what, cp.Raw, pol, now, 0)
	if named := c.named(rel.Predicate.Policy); err != nil && named != pol {
		pol = named
		q, err = quorum(what, cp.Raw, pol, now, 0)
	}
	if err != nil || pol.Witnesses.Quorum == 0 {
		return time.Time{}, err
	}
	times := make([]time.Time, 0, len(q.Cosignatures))
	for _, c := range q.Cosignatures {
		times = append(times, c.Time)
	}
	slices.SortFunc(times, time.Time.Compare)
	return times[pol.Witnesses.Quorum-1], nil
}
