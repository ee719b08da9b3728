package policies

import (
	"errors"
	"fmt"

	"ssms.dev/ssms/manifest"
)

// ErrProduct means the policy does not cover the release's product.
var ErrProduct = errors.New("product not covered by the policy")

// CheckRelease parses a release envelope and checks it against p: an
// in-toto release statement for a product p covers, signed by the
// threshold of distinct maintainer keys its type needs (release or
// rollback). Artifacts, logs and sequence numbers are checked by callers.
func (p *Policy) CheckRelease(env *manifest.Envelope) (*manifest.ReleaseStatement, *Approval, error) {
	if env.PayloadType != manifest.PayloadType {
		return nil, nil, fmt.Errorf("%w: %q; a release has %q", ErrPayloadType, env.PayloadType, manifest.PayloadType)
	}
	st, err := manifest.ParseRelease(env.Payload)
	if err != nil {
		return nil, nil, err
	}
	ap, err := p.ApproveRelease(env, st)
	if err != nil {
		return nil, nil, err
	}
	return st, ap, nil
}

// ApproveRelease checks that st, the parsed payload of env, is for a
// product p covers and that env carries the threshold its type needs.
func (p *Policy) ApproveRelease(env *manifest.Envelope, st *manifest.ReleaseStatement) (*Approval, error) {
	pr := st.Predicate
	if !p.AllowsProduct(pr.Product) {
		return nil, fmt.Errorf("%w: %q (policy version %d covers %v)", ErrProduct, pr.Product, p.Version, p.Products)
	}
	action := ActionRelease
	if pr.Type == manifest.TypeRollback {
		action = ActionRollback
	}
	return p.Approve(env, action, fmt.Sprintf("%s %s %s", pr.Type, pr.Product, pr.Version))
}
