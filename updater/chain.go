package updater

import (
	"context"
	"fmt"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/verifier"
	"ssms.dev/ssms/verifier/bundler"
)

// logChain is what the log says about the policies: the chain of logged
// policies from the one in force to the newest, each link verified as
// the successor of the one before (policies.VerifyNext, as the bundler
// walks it). Releases are judged under the newest link, not under the
// policy in force at the last install: after a rotation, a release signed
// by a new maintainer is found, and one signed by keys the rotation
// removed is no release. A bundle whose chain stops before the newest
// link is refused.
type logChain struct {
	r  *runner
	ix *bundler.Index
	j  *judged
	// pols is the policy in force then each link's, once loaded: a chain
	// read from the cache has the links' digests only.
	pols []*policies.Policy
	// release is the newest release's entry, as judged.
	release *manifest.Envelope
	stmt    *manifest.ReleaseStatement
}

// loadChain takes the chain from the cache if no policy was logged since
// it was walked from the same policy in force, and walks it again if one
// was.
func (r *runner) loadChain(ctx context.Context, ix *bundler.Index) (*logChain, error) {
	c := &logChain{r: r, ix: ix, j: loadJudged(r.indexDir())}
	from, size := r.pol.Digest(), r.out.Checkpoint.Size
	if c.j.valid(r.u.Log.Origin, from, size, ix) {
		return c, nil
	}
	newest := c.j.newest()
	if err := c.walk(ctx); err != nil {
		return nil, err
	}
	if c.j.Log != r.u.Log.Origin || c.j.From != from || c.j.newest() != newest {
		c.j.NotApproved = nil // judged under another policy
	}
	c.j.Log, c.j.From, c.j.Size = r.u.Log.Origin, from, size
	c.j.dirty = true
	return c, nil
}

// walk verifies the chain from the policy in force, reading the logged
// policies of later versions.
func (c *logChain) walk(ctx context.Context) error {
	links, err := c.ix.Successors(c.r.pol, func(i int64) (*manifest.Envelope, error) { return c.r.envelope(ctx, i) })
	if err != nil {
		return err
	}
	c.pols = []*policies.Policy{c.r.pol}
	c.j.Chain = nil
	for _, l := range links {
		c.pols = append(c.pols, l.Policy)
		c.j.Chain = append(c.j.Chain, judgedLink{Index: l.Index, Version: l.Policy.Version, Digest: l.Policy.Digest()})
	}
	return nil
}

// policies is the policy in force then each link's, walking the chain
// again if it came from the cache.
func (c *logChain) policies(ctx context.Context) ([]*policies.Policy, error) {
	if c.pols == nil {
		cached := c.j.newest()
		if err := c.walk(ctx); err != nil {
			return nil, err
		}
		if c.j.newest() != cached {
			c.j.NotApproved, c.j.dirty = nil, true
		}
	}
	return c.pols, nil
}

// newest is the newest logged policy's version, digest and entry (-1 for
// the policy in force, which the log need not hold).
func (c *logChain) newest() (uint64, string, int64) {
	if n := len(c.j.Chain); n > 0 {
		l := c.j.Chain[n-1]
		return l.Version, l.Digest, l.Index
	}
	return c.r.pol.Version, c.r.pol.Digest(), -1
}

// checkProduct refuses a product the policies do not name: a typo would
// otherwise be "up to date" for ever.
func (c *logChain) checkProduct(ctx context.Context) error {
	product := c.r.u.Product
	if c.r.pol.AllowsProduct(product) {
		return nil
	}
	pols, err := c.policies(ctx)
	if err != nil {
		return err
	}
	pol := pols[len(pols)-1]
	if pol.AllowsProduct(product) {
		return nil
	}
	return fmt.Errorf("the policy (version %d) names the products %v, not %q: check the product's name", pol.Version, pol.Products, product)
}

// judge decides whether the logged release e is approved by the newest
// policy. One that is not is remembered, with why it can never be
// installed if a policy before approved it (a stranded release), so that
// the next run does not read it again.
func (c *logChain) judge(ctx context.Context, e bundler.ReleaseEntry) (approved bool, stranded string, err error) {
	if n, ok := c.j.notApproved(e.Index); ok {
		return false, n.Stranded, nil
	}
	entry, err := c.r.entry(ctx, e.Index)
	if err != nil {
		return false, "", err
	}
	env, err := manifest.ParseEnvelope(entry)
	var rel *manifest.ReleaseStatement
	if err == nil {
		rel, err = manifest.ParseRelease(env.Payload)
	}
	if err != nil {
		c.j.add(notApproved{Index: e.Index})
		return false, "", nil
	}
	pols, err := c.policies(ctx)
	if err != nil {
		return false, "", err
	}
	if _, err := pols[len(pols)-1].ApproveRelease(env, rel); err == nil {
		c.release, c.stmt = env, rel
		return true, "", nil
	}
	n := notApproved{Index: e.Index, Stranded: c.stranded(pols, e, env, rel)}
	c.j.add(n)
	return false, n.Stranded, nil
}

// stranded says why e cannot be installed, if a policy of the chain
// approved it when it was logged and a later one, logged after it, does
// not. A release logged after the policy that removed its signers' keys
// is no release: nothing is said of it.
func (c *logChain) stranded(pols []*policies.Policy, e bundler.ReleaseEntry, env *manifest.Envelope, rel *manifest.ReleaseStatement) string {
	for k := len(pols) - 2; k >= 0; k-- {
		if _, err := pols[k].ApproveRelease(env, rel); err != nil {
			continue
		}
		next := c.j.Chain[k] // pols[k+1]
		if e.Index > next.Index {
			return ""
		}
		newest, _, _ := c.newest()
		return fmt.Sprintf("%s %s (sequence %d, entry %d) was approved by policy version %d, but policy version %d, logged after it (entry %d), does not approve it: it cannot be installed until the maintainers sign it again under policy version %d",
			e.Product, e.Version, e.Sequence, e.Index, pols[k].Version, next.Version, next.Index, newest)
	}
	return ""
}

// covers refuses a bundle whose policy chain ends before the newest
// logged policy: a mirror that leaves a rotation out would have the
// release judged by keys the rotation removed. A bundle made before the
// rotation must be made again. Its last policy is read unverified here,
// to refuse early (before a stripped bundle passes for "not yet");
// holds checks the verified result.
func (c *logChain) covers(b *verifier.Bundle) error {
	if len(b.Policies) == 0 {
		return nil // the verifier refuses it
	}
	env, err := manifest.ParseEnvelope(b.Policies[len(b.Policies)-1].Entry)
	if err != nil {
		return nil
	}
	p, err := policies.Parse(env)
	if err != nil {
		return nil
	}
	return c.holds(p)
}

// holds checks that p, the policy a bundle's chain ends at, is not older
// than the newest logged policy (a bundle newer than the log's checkpoint
// may end later).
func (c *logChain) holds(p *policies.Policy) error {
	v, digest, index := c.newest()
	where := fmt.Sprintf("the log holds policy version %d (entry %d), which follows from the policy in force", v, index)
	if index < 0 {
		where = fmt.Sprintf("the policy in force is version %d", v)
	}
	switch {
	case p.Version < v:
		return fmt.Errorf("%w: the bundle's policy chain ends at version %d, but %s: a bundle that leaves a rotation out is refused (a bundle made before the rotation must be made again)",
			verifier.ErrPolicyChain, p.Version, where)
	case p.Version == v && p.Digest() != digest:
		return fmt.Errorf("%w: the bundle's policy version %d is %s, but %s, %s", verifier.ErrPolicyChain, v, p.Digest(), where, digest)
	}
	return nil
}

// rebuildsLogged says which rebuild attestations of the newest release the
// log holds, if they are enough for the newest policy: a bundle without
// them was stripped, not early. "" if the log does not hold enough.
func (c *logChain) rebuildsLogged(ctx context.Context) (string, error) {
	if c.release == nil {
		return "", nil
	}
	pols, err := c.policies(ctx)
	if err != nil {
		return "", err
	}
	pol, ref := pols[len(pols)-1], c.r.out.Newest.Ref
	var atts []*manifest.Envelope
	var at []int64
	for _, e := range c.ix.Rebuilds {
		if e.Release != ref || len(atts) == verifier.MaxRebuilds {
			continue
		}
		env, err := c.r.envelope(ctx, e.Index)
		if err != nil {
			return "", err
		}
		// Only those that count: junk cannot push the real ones out.
		if rb, err := pol.VerifyRebuild(env); err == nil && rb.Matches(c.stmt, ref) == nil {
			atts, at = append(atts, env), append(at, e.Index)
		}
	}
	ap, err := pol.ApproveRebuilds(c.stmt, c.release.Payload, atts)
	if err != nil {
		return "", nil
	}
	return fmt.Sprintf("the log holds attestations by %v (among entries %v), enough for the policy: the mirror left them out", ap.Builders, at), nil
}

// entry is entry i of the log's checked checkpoint.
func (r *runner) entry(ctx context.Context, i int64) ([]byte, error) {
	es, err := r.u.Log.Entries(ctx, i, i+1, r.out.Checkpoint.Checkpoint)
	if err != nil {
		return nil, fmt.Errorf("reading the log: %w", err)
	}
	return es[0], nil
}

func (r *runner) envelope(ctx context.Context, i int64) (*manifest.Envelope, error) {
	e, err := r.entry(ctx, i)
	if err != nil {
		return nil, err
	}
	return manifest.ParseEnvelope(e)
}
