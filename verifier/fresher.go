package verifier

import (
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/translog"
)

// Fresher is a checkpoint of the bundle's log that the caller fetched
// after the bundle was made (an updater asks the log itself), with a
// consistency proof from the bundle's head to it. When a request has one,
// the witness quorum, the freshness (maxCheckpointAge) and the client's
// memory of the log apply to it instead of the bundle's head: entries
// included under the head are included under every checkpoint that
// extends it, so a bundle a mirror made last week stays usable, and a
// mirror cannot hide a newer release by serving an old bundle without the
// client seeing the newer head.
type Fresher struct {
	Checkpoint []byte      // signed by the log, cosigned by the witnesses
	Proof      []tlog.Hash // RFC 6962, from the bundle's head size to Checkpoint's
}

// anchor returns the checkpoint the request's freshness and state apply
// to: the fresher one, proven to extend head, or head itself.
func anchor(f *Fresher, head *translog.SignedCheckpoint, key *logKey) (*translog.SignedCheckpoint, error) {
	if f == nil {
		return head, nil
	}
	cp, err := translog.OpenCheckpointWith(f.Checkpoint, key.origin, key.list)
	if err != nil {
		return nil, fail(ErrUnknownLog, "fresher checkpoint: %v", err)
	}
	if cp.Size < head.Size {
		return nil, fail(ErrConsistency, "the fresher checkpoint (size %d) is older than the bundle's head (size %d)", cp.Size, head.Size)
	}
	if err := consistent(head, cp, map[int64][]tlog.Hash{head.Size: f.Proof}, key, "fresher checkpoint"); err != nil {
		return nil, err
	}
	return cp, nil
}

// CheckCheckpoint checks a checkpoint as Verify checks a head: signed by
// a log of pol, cosigned by its witness quorum, a quorum of cosignatures
// at most pol's maxCheckpointAge old at now. An updater calls it on the
// checkpoint it fetched before it looks for a release: a log (or tile
// mirror) that serves an old view is caught even when nothing is new.
func CheckCheckpoint(pol *policies.Policy, signed []byte, now time.Time) (*translog.SignedCheckpoint, error) {
	cp, _, err := openHead(signed, pol)
	if err != nil {
		return nil, err
	}
	if _, err := quorum("checkpoint", signed, pol, now, pol.MaxAge()); err != nil {
		return nil, err
	}
	return cp, nil
}

// PolicyInForce is the newest policy a client verified: the one in force
// at the last install of product (read from that install's bundle), or
// the pinned policy when nothing is installed.
func PolicyInForce(pinned *policies.Policy, st *State, product string, installedBundle []byte, now time.Time) (*policies.Policy, error) {
	in := st.Products[product]
	if in == nil {
		return pinned, nil
	}
	p, err := parseBundle(installedBundle)
	if err != nil {
		return nil, err
	}
	c, err := verifyChain(pinned, p.policies, st, in, ModeInstalled, now)
	if err != nil {
		return nil, err
	}
	return c.inForce, nil
}

// CheckExtends checks that the signed checkpoint latest, of a log of pol,
// extends old, a checkpoint this client accepted before (as Verify checks
// a head), with proof from old's size. A proof that shows the log forked
// is a *ForkError with the evidence.
func CheckExtends(pol *policies.Policy, old string, latest []byte, proof []tlog.Hash) error {
	head, key, err := openHead(latest, pol)
	if err != nil {
		return err
	}
	body, _, _ := strings.Cut(old, "\n\n")
	prev, err := translog.ParseCheckpoint([]byte(body + "\n"))
	if err != nil {
		return fail(ErrStateCorrupt, "the checkpoint remembered for %s: %v", key.origin, err)
	}
	_, err = extend(old, head, key, nil, map[int64][]tlog.Hash{prev.Size: proof})
	return err
}
