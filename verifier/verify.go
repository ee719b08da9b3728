package verifier

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/translog"
	"ssms.dev/ssms/witness"
)

// Mode is what a verification is for.
type Mode int

const (
	// ModeInstall checks everything before a new version is installed.
	ModeInstall Mode = iota
	// ModeInstalled is the start-up self-check of an installed version: no
	// freshness, expiry or minLogAge, and the policy in force at install,
	// so that a machine without network still restarts.
	ModeInstalled
	// ModePublish is what a publisher checks before handing a bundle out:
	// everything ModeInstall checks but minLogAge (a new release is
	// bundled before it may install) and the client's state.
	ModePublish
)

func (m Mode) String() string {
	return [...]string{"install", "installed", "publish"}[m]
}

// Artifact is one file the caller hashed (while it streamed the file, so
// that nothing is read twice): its name in the release, digest and size.
type Artifact struct {
	Name   string
	Digest manifest.Digest
	Size   int64
}

// Request is everything one verification decides on. Verify reads no
// file, no network and no clock: Now is the time, read once by the caller.
type Request struct {
	Bundle    []byte           // the bundle file
	Product   string           // the product the caller runs
	Artifacts []Artifact       // at least one
	Pinned    *policies.Policy // the policy the client trusts, checked once by Pin
	State     *State           // nil for a client with no memory yet
	Now       time.Time
	Mode      Mode
	// Consistency adds proofs, from older sizes to the bundle's head, to
	// those the bundle carries (an updater fetches them from the log).
	Consistency map[int64][]tlog.Hash
	// Fresher, if set, is a newer checkpoint than the bundle's head that
	// the caller fetched from the log (see Fresher); Consistency's proofs
	// then lead to it. Install mode only.
	Fresher *Fresher
}

// Result is a verified release.
type Result struct {
	Release      *manifest.ReleaseStatement
	Signers      []string // maintainers, by name in the policy in force
	Policy       *policies.Policy
	Head         *translog.SignedCheckpoint // the one remembered: Request.Fresher's checkpoint, if given
	Index        int64                      // the release's entry in the log
	Witnesses    []witness.Cosignature      // the head's
	Rebuilders   []string
	VisibleSince time.Time // zero when the policy has no witnesses to date it
	Bundle       string    // sha256:<hex> of the bundle file
	// Next is the state to store now that every check passed. In
	// installed mode it equals the state given.
	Next *State
}

// Verify decides whether the artifacts may run: the release in the bundle
// is approved by the policy in force (reached from the pinned one), in the
// log (under a witnessed, fresh head consistent with what the client saw
// before, for long enough), rebuilt by enough rebuilders, and newer than
// what is installed. It returns the first check that failed, as an error
// wrapping one of the Err values of this package.
func Verify(req Request) (*Result, error) {
	if req.Mode < ModeInstall || req.Mode > ModePublish {
		return nil, fmt.Errorf("verifier: unknown mode %d", req.Mode)
	}
	st := req.State
	if st == nil {
		st = NewState()
	}
	if st.Logs == nil || st.Products == nil {
		return nil, fail(ErrStateCorrupt, "logs and products are missing (make a State with NewState or ParseState)")
	}
	p, err := parseBundle(req.Bundle)
	if err != nil {
		return nil, err
	}
	rel, err := manifest.ParseRelease(p.release.env.Payload)
	if err != nil || p.release.env.PayloadType != manifest.PayloadType {
		return nil, fail(ErrFormat, "release: not a release statement: %v", err)
	}
	if rel.Predicate.Product != req.Product {
		return nil, fail(ErrProduct, "the bundle is for %s, not %s", rel.Predicate.Product, req.Product)
	}
	installed := st.Products[req.Product]
	if req.Mode == ModeInstalled && installed == nil {
		return nil, fail(ErrNotInstalled, "the state records no install of %s", req.Product)
	}
	c, err := verifyChain(req.Pinned, p.policies, st, installed, req.Mode, req.Now)
	if err != nil {
		return nil, err
	}
	pol := c.inForce
	ap, err := pol.ApproveRelease(p.release.env, rel)
	if err != nil {
		return nil, fail(ErrThreshold, "%v", err)
	}
	if err := checkArtifacts(rel, req.Artifacts); err != nil {
		return nil, err
	}
	head, key, err := openHead(p.head, pol)
	if err != nil {
		return nil, err
	}
	if err := p.allIncluded(head); err != nil {
		return nil, err
	}
	var maxAge time.Duration
	if req.Mode != ModeInstalled {
		maxAge = pol.MaxAge()
	}
	if req.Fresher != nil && req.Mode != ModeInstall {
		return nil, fmt.Errorf("verifier: a fresher checkpoint is for install mode only")
	}
	top, err := anchor(req.Fresher, head, key)
	if err != nil {
		return nil, err
	}
	q, err := quorum("head", top.Raw, pol, req.Now, maxAge)
	if err != nil {
		return nil, err
	}
	next := st.clone()
	if req.Mode == ModeInstall {
		bundled := p.cons // proofs to the bundle's head, which lead nowhere else
		if top != head {
			bundled = nil
		}
		if next.Logs[key.origin], err = extend(st.Logs[key.origin], top, key, bundled, req.Consistency); err != nil {
			return nil, err
		}
	}
	visible, err := firstSeen(p, rel, head, key, c, req.Now)
	if err != nil {
		return nil, err
	}
	rb, err := pol.ApproveRebuilds(rel, p.release.env.Payload, p.envs(p.rebuilds))
	if err != nil {
		return nil, fail(ErrRebuildThreshold, "%v", err)
	}
	if err := checkOrder(p, rel, installed, req.Mode, req.Bundle); err != nil {
		return nil, err
	}
	if age := pol.LogAge(); req.Mode == ModeInstall && age > 0 {
		if visible.IsZero() {
			return nil, fail(ErrTooEarly, "the policy wants %s in the log, but its witness quorum is 0: nothing dates the release", age)
		}
		if req.Now.Before(visible.Add(age)) {
			return nil, &TooEarlyError{VisibleSince: visible, MinLogAge: age, Until: visible.Add(age)}
		}
	}
	res := &Result{
		Release: rel, Signers: ap.Signers, Policy: pol, Head: top, Index: p.release.proof.Index,
		Witnesses: q.Cosignatures, Rebuilders: rb.Builders, VisibleSince: visible, Bundle: digest(req.Bundle),
	}
	if req.Mode != ModeInstall {
		res.Next = st
		return res, nil
	}
	next.pin(c)
	next.Products[req.Product] = &Installed{
		Version: rel.Predicate.Version, Sequence: rel.Predicate.Sequence, Artifacts: rel.Subject,
		Bundle: res.Bundle, Policy: c.ref(pol), VisibleSince: formatTime(visible), Installed: manifest.FormatTime(req.Now),
	}
	res.Next = next
	return res, nil
}

// allIncluded checks every document of the bundle against the head.
func (p *parsed) allIncluded(head *translog.SignedCheckpoint) error {
	if err := included(field{"release", -1}, p.release, head); err != nil {
		return err
	}
	for i, d := range p.policies {
		if err := included(field{"policies", i}, d, head); err != nil {
			return err
		}
	}
	for i, d := range p.rebuilds {
		if err := included(field{"rebuilds", i}, d, head); err != nil {
			return err
		}
	}
	if p.rollbackOf != nil {
		return included(field{"rollbackOf", -1}, *p.rollbackOf, head)
	}
	return nil
}

func (p *parsed) envs(docs []doc) []*manifest.Envelope {
	out := make([]*manifest.Envelope, len(docs))
	for i, d := range docs {
		out[i] = d.env
	}
	return out
}

// extend checks the head against the checkpoint the client accepted
// before (if any) and returns the newer of the two, to remember.
func extend(old string, head *translog.SignedCheckpoint, key *logKey, bundled, given map[int64][]tlog.Hash) (string, error) {
	if old == "" {
		return string(head.Raw), nil
	}
	prev, err := translog.OpenCheckpointWith([]byte(old), key.origin, key.list)
	if body, _, _ := strings.Cut(old, "\n\n"); errors.Is(err, translog.ErrSignature) && parses(body) {
		// Readable, but under another key: the log's key changed under
		// the same origin, which no honest rotation does (a new key is a
		// new log, with a new origin).
		return "", fail(ErrUnknownLog, "the checkpoint this client remembers for %s is signed by another key than the policy's: %v", key.origin, err)
	}
	if err != nil {
		return "", fail(ErrStateCorrupt, "the checkpoint remembered for %s: %v", key.origin, err)
	}
	proofs := map[int64][]tlog.Hash{}
	for k, v := range bundled {
		proofs[k] = v
	}
	for k, v := range given {
		proofs[k] = v
	}
	if err := consistent(prev, head, proofs, key, "head"); err != nil {
		return "", err
	}
	return string(head.Raw), nil
}

// parses reports whether body is a checkpoint's text.
func parses(body string) bool {
	_, err := translog.ParseCheckpoint([]byte(body + "\n"))
	return err == nil
}

func digest(b []byte) string { return "sha256:" + manifest.DigestBytes(b).SHA256 }

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return manifest.FormatTime(t)
}

// pin records the policies accepted: the pinned one as the first, unless
// an earlier one was; the one in force as the latest, unless a later one was.
func (s *State) pin(c *chain) {
	if s.Policy == nil {
		s.Policy = &PolicyPin{First: c.ref(c.pinned), Latest: c.ref(c.inForce)}
		return
	}
	if c.inForce.Version > s.Policy.Latest.Version {
		s.Policy.Latest = c.ref(c.inForce)
	}
}
