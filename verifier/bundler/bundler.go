// Package bundler makes verifier bundles from a log: it finds a release,
// its rebuild attestations and the policy chain, fetches their exact
// logged bytes and fresh proofs against one checkpoint, and checks the
// result with the verifier before handing it out. It keeps an index of
// the log in a directory, so that each bundle reads only the entries
// added since the last.
package bundler

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/mod/sumdb/tlog"

	"ssms.dev/ssms/internal/dirlock"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/translog"
	"ssms.dev/ssms/verifier"
)

// Bundler makes bundles from one log.
type Bundler struct {
	Log      *translog.Client
	Pinned   *manifest.Envelope // the policy the bundle's clients pin
	IndexDir string             // the index of the log, kept between runs
}

// Request names the release to bundle.
type Request struct {
	Product, Version string
	// First is the proof `ssms release publish` wrote: the checkpoint the
	// release was published under, with the cosignatures gathered then.
	// The log serves only its latest checkpoint, so only the publisher
	// can date the release.
	First *translog.Proof
	// Since are checkpoints clients accepted before; the bundle carries a
	// consistency proof from each to its head.
	Since []*translog.SignedCheckpoint
}

// ErrNotFound means the log holds no release that matches.
var ErrNotFound = errors.New("no such release in the log")

// Make builds the bundle for req.
func (b *Bundler) Make(ctx context.Context, req Request) (*verifier.Bundle, error) {
	lock, err := dirlock.Acquire(b.IndexDir)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	ix, head, err := refresh(ctx, b.IndexDir, b.Log, nil)
	if err != nil {
		return nil, err
	}
	m := &maker{b: b, ix: ix, head: head, ctx: ctx, entries: map[int64][]byte{}}
	return m.make(req)
}

// maker is one Make call's work.
type maker struct {
	b       *Bundler
	ix      *Index
	head    *translog.SignedCheckpoint
	ctx     context.Context
	entries map[int64][]byte // fetched and checked against head
}

func (m *maker) make(req Request) (*verifier.Bundle, error) {
	chain, pol, err := m.chain()
	if err != nil {
		return nil, err
	}
	relEntry, rel, env, err := m.release(pol, req.Product, req.Version)
	if err != nil {
		return nil, err
	}
	out := &verifier.Bundle{MediaType: verifier.MediaType, Rebuilds: []verifier.Logged{}, Consistency: []verifier.Consistency{}}
	if out.Release, err = m.logged(relEntry.Index); err != nil {
		return nil, err
	}
	for _, i := range chain {
		l, err := m.logged(i)
		if err != nil {
			return nil, err
		}
		out.Policies = append(out.Policies, l)
	}
	if err := m.rebuilds(out, pol, rel, env, relEntry.Ref); err != nil {
		return nil, err
	}
	if rel.Predicate.Type == manifest.TypeRollback {
		if err := m.rollbackOf(out, rel, relEntry); err != nil {
			return nil, err
		}
	}
	if out.FirstSeen, err = m.firstSeen(req.First, env, pol); err != nil {
		return nil, err
	}
	seen := map[int64]bool{}
	for _, cp := range req.Since {
		if cp.Size >= m.head.Size || seen[cp.Size] || len(out.Consistency) == verifier.MaxConsistency {
			continue
		}
		seen[cp.Size] = true
		hs, err := m.b.Log.ConsistencyProof(m.ctx, cp.Checkpoint, m.head.Checkpoint)
		if err != nil {
			return nil, fmt.Errorf("consistency from size %d: %w", cp.Size, err)
		}
		out.Consistency = append(out.Consistency, verifier.Consistency{Size: cp.Size, Hashes: encode(hs)})
	}
	return out, nil
}

// chain finds the logged policy chain through the pinned policy: back to
// version 1 (clients may pin an earlier policy than the bundler was
// given), and forward, version after version, to the last that verifies,
// wherever in the log each was logged. It returns the entries' indexes in
// version order and the last policy.
func (m *maker) chain() ([]int64, *policies.Policy, error) {
	pinned, err := policies.Parse(m.b.Pinned)
	if err != nil {
		return nil, nil, err
	}
	start, ok := m.find(pinned.Version, func(e PolicyEntry) bool { return e.Digest == payloadDigest(m.b.Pinned.Payload) })
	if !ok {
		return nil, nil, fmt.Errorf("the pinned policy (version %d, %s) is not in the log; publish it: ssms policy publish", pinned.Version, pinned.Digest())
	}
	chain := []int64{start}
	// Back: the predecessor of each link is a logged policy it verifies
	// as a successor of.
	next := m.b.Pinned
	for v := pinned.Version - 1; v >= 1; v-- {
		i, ok, err := m.link(v, func(prev *policies.Policy) bool { _, _, err := policies.VerifyNext(prev, next); return err == nil })
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			break
		}
		chain = append([]int64{i}, chain...)
		if next, err = m.envelope(i); err != nil {
			return nil, nil, err
		}
	}
	links, err := m.ix.Successors(pinned, m.envelope)
	if err != nil {
		return nil, nil, err
	}
	cur := pinned
	for _, l := range links {
		chain, cur = append(chain, l.Index), l.Policy
	}
	return chain, cur, nil
}

// find is the first indexed policy of version v for which ok holds.
func (m *maker) find(v uint64, ok func(PolicyEntry) bool) (int64, bool) {
	for _, e := range m.ix.Policies {
		if e.Version == v && ok(e) {
			return e.Index, true
		}
	}
	return 0, false
}

// link is the first logged policy of version v that fits.
func (m *maker) link(v uint64, fits func(*policies.Policy) bool) (int64, bool, error) {
	return m.ix.firstLogged(v, m.envelope, func(env *manifest.Envelope) bool {
		p, err := policies.Parse(env)
		return err == nil && fits(p)
	})
}

// release picks the release of product and version that the policy
// approves: the highest sequence, and of its entries the last logged (it
// carries the most signatures: the log admits a new entry of a payload
// only with more).
func (m *maker) release(pol *policies.Policy, product, version string) (ReleaseEntry, *manifest.ReleaseStatement, *manifest.Envelope, error) {
	var found []ReleaseEntry
	for _, e := range m.ix.Releases {
		if e.Product == product && e.Version == version {
			found = append(found, e)
		}
	}
	slices.SortStableFunc(found, func(a, b ReleaseEntry) int {
		return cmp.Or(cmp.Compare(b.Sequence, a.Sequence), cmp.Compare(b.Index, a.Index))
	})
	var errs []error
	for _, e := range found {
		env, err := m.envelope(e.Index)
		if err != nil {
			return ReleaseEntry{}, nil, nil, err
		}
		st, _, err := pol.CheckRelease(env)
		if err == nil {
			return e, st, env, nil
		}
		errs = append(errs, fmt.Errorf("entry %d: %w", e.Index, err))
	}
	if len(found) == 0 {
		return ReleaseEntry{}, nil, nil, fmt.Errorf("%w: %s %s", ErrNotFound, product, version)
	}
	return ReleaseEntry{}, nil, nil, fmt.Errorf("%w: %s %s is logged, but not approved by policy version %d: %w", ErrNotFound, product, version, pol.Version, errors.Join(errs...))
}

// rebuilds adds the attestations that count for the release: each by a
// distinct rebuilder key of the policy, matching the release.
func (m *maker) rebuilds(out *verifier.Bundle, pol *policies.Policy, rel *manifest.ReleaseStatement, env *manifest.Envelope, ref string) error {
	seen := map[string]bool{}
	for _, e := range m.ix.Rebuilds {
		if e.Release != ref || len(out.Rebuilds) == verifier.MaxRebuilds {
			continue
		}
		att, err := m.envelope(e.Index)
		if err != nil {
			return err
		}
		r, err := pol.VerifyRebuild(att)
		if err != nil || r.Matches(rel, ref) != nil || seen[r.KeyID] {
			continue
		}
		seen[r.KeyID] = true
		l, err := m.logged(e.Index)
		if err != nil {
			return err
		}
		out.Rebuilds = append(out.Rebuilds, l)
	}
	return nil
}

// rollbackOf adds the release a rollback returns to: the same product
// and version, type release, a lower sequence, the same artifacts.
func (m *maker) rollbackOf(out *verifier.Bundle, rel *manifest.ReleaseStatement, re ReleaseEntry) error {
	for _, e := range m.ix.Releases {
		if e.Product != re.Product || e.Version != re.Version || e.Type != manifest.TypeRelease || e.Sequence >= re.Sequence {
			continue
		}
		env, err := m.envelope(e.Index)
		if err != nil {
			return err
		}
		old, err := manifest.ParseRelease(env.Payload)
		if err != nil || !slices.EqualFunc(old.Subject, rel.Subject, func(a, b manifest.Subject) bool { return a.Name == b.Name && a.Digest == b.Digest }) {
			continue
		}
		l, err := m.logged(e.Index)
		if err != nil {
			return err
		}
		out.RollbackOf = &l
		return nil
	}
	return fmt.Errorf("%w: rollback to %s %s, but no release of that version with the same artifacts is logged", ErrNotFound, re.Product, re.Version)
}

// firstSeen checks the publisher's proof (same log, same payload) and
// adds the consistency proof from its checkpoint to the head.
func (m *maker) firstSeen(first *translog.Proof, env *manifest.Envelope, pol *policies.Policy) (verifier.FirstSeen, error) {
	if first == nil {
		return verifier.FirstSeen{}, errors.New("no first proof: the checkpoint the release was published under dates it for minLogAge")
	}
	entry, err := m.entry(first.Index)
	if err != nil {
		return verifier.FirstSeen{}, err
	}
	cp, err := translog.VerifyProof(first, entry, m.b.Log.Origin, m.b.Log.Key)
	if err != nil {
		return verifier.FirstSeen{}, fmt.Errorf("first proof: %w", err)
	}
	got, err := manifest.ParseEnvelope(entry)
	if err != nil || got.PayloadType != env.PayloadType || !bytes.Equal(got.Payload, env.Payload) {
		return verifier.FirstSeen{}, fmt.Errorf("first proof: entry %d is not this release", first.Index)
	}
	if _, _, err := pol.CheckRelease(got); err != nil {
		return verifier.FirstSeen{}, fmt.Errorf("first proof: entry %d is below the threshold, so it dates nothing (give the proof of the first entry that meets it): %w", first.Index, err)
	}
	hs, err := m.b.Log.ConsistencyProof(m.ctx, cp.Checkpoint, m.head.Checkpoint)
	if err != nil {
		return verifier.FirstSeen{}, fmt.Errorf("first proof: consistency with the head: %w", err)
	}
	return verifier.FirstSeen{Entry: entry, Proof: string(first.Marshal()), Consistency: encode(hs)}, nil
}

// logged is entry i with its proof against the head.
func (m *maker) logged(i int64) (verifier.Logged, error) {
	entry, err := m.entry(i)
	if err != nil {
		return verifier.Logged{}, err
	}
	hs, err := m.b.Log.InclusionProof(m.ctx, i, translog.LeafHash(entry), m.head.Checkpoint)
	if err != nil {
		return verifier.Logged{}, fmt.Errorf("inclusion of entry %d: %w", i, err)
	}
	p := &translog.Proof{Index: i, Hashes: hs, Checkpoint: m.head.Raw}
	return verifier.Logged{Entry: entry, Proof: string(p.Marshal())}, nil
}

// entry is entry i of the head's tree, fetched once per Make: a chosen
// document is read to be checked, then again to be bundled.
func (m *maker) entry(i int64) ([]byte, error) {
	if e, ok := m.entries[i]; ok {
		return e, nil
	}
	if i < 0 || i >= m.head.Size {
		return nil, fmt.Errorf("entry %d is not in the log's tree of size %d", i, m.head.Size)
	}
	es, err := m.b.Log.Entries(m.ctx, i, i+1, m.head.Checkpoint)
	if err != nil {
		return nil, err
	}
	m.entries[i] = es[0]
	return es[0], nil
}

func (m *maker) envelope(i int64) (*manifest.Envelope, error) {
	e, err := m.entry(i)
	if err != nil {
		return nil, err
	}
	return manifest.ParseEnvelope(e)
}

func encode(hs []tlog.Hash) []string {
	out := make([]string, 0, len(hs))
	for _, h := range hs {
		out = append(out, translog.EncodeHash(h))
	}
	return out
}
