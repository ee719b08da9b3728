package verifier

import (
	"fmt"
	"strings"
	"time"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
)

// chain is the verified policy chain of a bundle.
type chain struct {
	pinned  *policies.Policy
	inForce *policies.Policy
	links   []*policies.Policy // from the pinned policy to the one in force
}

// Pin checks the policy a client trusts (embedded in its binary or
// configured) once, when the client starts: it must carry its own policy
// threshold. Expiry is not checked: a pinned policy is the root of the
// chain, and only the policy in force must be current.
func Pin(env *manifest.Envelope) (*policies.Policy, error) {
	p, err := policies.Parse(env)
	if err == nil {
		_, err = p.Approve(env, policies.ActionPolicy, fmt.Sprintf("the pinned policy (version %d)", p.Version))
	}
	if err != nil {
		return nil, fail(ErrPolicyChain, "pinned policy: %v", err)
	}
	return p, nil
}

// verifyChain walks the bundle's policies from the pinned one, each link
// signed by the policy threshold of its predecessor and of its own (TUF's
// root rotation). The chain must reach the latest policy this client
// accepted, with the same policy at every version it pinned (SMIMP: a
// history that is shorter or was replaced is refused). In install mode
// the last link is in force and must not have expired; in installed mode
// the one recorded at install is in force, expired or not, so that an
// offline machine still restarts.
func verifyChain(pinned *policies.Policy, docs []doc, st *State, installed *Installed, mode Mode, now time.Time) (*chain, error) {
	if pinned == nil {
		return nil, fail(ErrPolicyChain, "no pinned policy")
	}
	start := -1
	for i, d := range docs {
		if d.env.PayloadType != policies.PayloadType {
			return nil, fail(ErrPolicyChain, "policies[%d]: payload type %q is not a policy's", i, d.env.PayloadType)
		}
		if manifest.DigestBytes(d.env.Payload).SHA256 == strings.TrimPrefix(pinned.Digest(), "sha256:") {
			start = i
			break
		}
	}
	if start < 0 {
		return nil, fail(ErrPolicyChain, "the bundle's policies do not include the pinned policy (version %d, %s)", pinned.Version, pinned.Digest())
	}
	c := &chain{pinned: pinned, links: []*policies.Policy{pinned}}
	for i := start + 1; i < len(docs); i++ {
		next, _, err := policies.VerifyNext(c.links[len(c.links)-1], docs[i].env)
		if err != nil {
			return nil, fail(ErrPolicyChain, "policies[%d]: %v", i, err)
		}
		c.links = append(c.links, next)
	}
	// The self-check takes the bundle installed, whose chain may stop
	// before policies the client accepted since for other products.
	if st.Policy != nil && mode != ModeInstalled {
		for _, ref := range []PolicyRef{st.Policy.First, st.Policy.Latest} {
			if err := c.holds(ref, "accepted before"); err != nil {
				return nil, err
			}
		}
	}
	c.inForce = c.links[len(c.links)-1]
	if mode == ModeInstalled {
		if installed.Policy.Version < c.pinned.Version {
			return nil, fail(ErrPolicyChain, "installed under policy version %d, before the pinned version %d: install it again under the pinned policy", installed.Policy.Version, c.pinned.Version)
		}
		if err := c.holds(installed.Policy, "in force at install"); err != nil {
			return nil, err
		}
		c.inForce = c.links[installed.Policy.Version-c.pinned.Version]
		return c, nil
	}
	if mode != ModeInstalled {
		if err := c.inForce.CheckExpiry(now); err != nil {
			return nil, fail(ErrPolicyChain, "%v", err)
		}
	}
	return c, nil
}

// holds checks that the chain has the policy ref at its version. A
// version before the pinned one is not in the verified chain: the client
// pinned a later policy than it once accepted, which is its own choice.
func (c *chain) holds(ref PolicyRef, what string) error {
	if ref.Version < c.pinned.Version {
		return nil
	}
	i := ref.Version - c.pinned.Version
	if i >= uint64(len(c.links)) {
		return fail(ErrPolicyChain, "the chain ends at version %d, but this client %s version %d: a truncated history",
			c.links[len(c.links)-1].Version, what, ref.Version)
	}
	if got := c.links[i].Digest(); got != ref.Digest {
		return fail(ErrPolicyChain, "version %d in the chain is %s, but this client %s %s: a replaced history", ref.Version, got, what, ref.Digest)
	}
	return nil
}

// named is the link of the chain whose digest is ref, or the policy in
// force if none is.
func (c *chain) named(ref string) *policies.Policy {
	for _, l := range c.links {
		if l.Digest() == ref && l.Version <= c.inForce.Version {
			return l
		}
	}
	return c.inForce
}

func (c *chain) ref(p *policies.Policy) PolicyRef {
	return PolicyRef{Version: p.Version, Digest: p.Digest()}
}
