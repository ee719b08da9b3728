package policies

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/signer"
)

// Errors of policy verification. Each is wrapped with the evidence.
var (
	ErrThreshold   = errors.New("threshold not met")
	ErrExpired     = errors.New("policy expired")
	ErrNotNext     = errors.New("not the next policy version")
	ErrPayloadType = errors.New("wrong payload type")
)

// ThresholdError says which keys signed and which did not.
type ThresholdError struct {
	What     string   // "policy version 2", "release smp-server 1.2.0"
	Action   Action   // whose threshold
	Have     int      // distinct valid maintainer keys
	Need     int      // the threshold
	Signed   []string // names of the keys that count
	Missing  []string // names of the keys that did not sign
	Rejected []string // why other signatures did not count
}

func (e *ThresholdError) Error() string {
	msg := fmt.Sprintf("%s: %d of %d required %s signatures", e.What, e.Have, e.Need, e.Action)
	if len(e.Signed) > 0 {
		msg += " (signed: " + strings.Join(e.Signed, ", ") + ")"
	}
	if len(e.Missing) > 0 {
		msg += "; not signed by: " + strings.Join(e.Missing, ", ")
	}
	if len(e.Rejected) > 0 {
		msg += "; " + strings.Join(e.Rejected, "; ")
	}
	return msg
}

func (e *ThresholdError) Unwrap() error { return ErrThreshold }

// Approval lists the maintainers whose signatures met a threshold.
type Approval struct {
	Action  Action   `json:"action"`
	Need    int      `json:"need"`
	Signers []string `json:"signers"` // names, in signature order
}

// Parse opens a policy envelope without checking any signature. Use
// VerifyRoot or VerifyNext to trust it.
func Parse(env *manifest.Envelope) (*Policy, error) {
	if env.PayloadType != PayloadType {
		return nil, fmt.Errorf("%w: %q; a policy has %q", ErrPayloadType, env.PayloadType, PayloadType)
	}
	return ParsePolicy(env.Payload)
}

// Threshold returns the number of distinct maintainer keys action needs.
func (p *Policy) Threshold(a Action) int {
	switch a {
	case ActionRelease:
		return p.Maintainers.Thresholds.Release
	case ActionRollback:
		return p.Maintainers.Thresholds.Rollback
	case ActionPolicy:
		return p.Maintainers.Thresholds.Policy
	}
	panic("unknown action " + string(a))
}

// Approve checks that env carries the threshold for action from distinct
// maintainer keys of p. what names the document in errors.
func (p *Policy) Approve(env *manifest.Envelope, a Action, what string) (*Approval, error) {
	v := env.Verify(p.maintainerKeys)
	need := p.Threshold(a)
	ap := &Approval{Action: a, Need: need}
	signed := map[string]bool{}
	for _, k := range v.Signers {
		ap.Signers = append(ap.Signers, p.names[k.ID()])
		signed[k.ID()] = true
	}
	if len(v.Signers) >= need {
		return ap, nil
	}
	err := &ThresholdError{What: what, Action: a, Have: len(v.Signers), Need: need, Signed: ap.Signers, Rejected: v.Rejected}
	for _, k := range p.Maintainers.Keys {
		if !signed[k.ID] {
			err.Missing = append(err.Missing, k.Name)
		}
	}
	return nil, err
}

// VerifyRoot trusts a policy on its own authority: the root of a chain,
// pinned by the caller (embedded in a binary, or named on the command line).
// It must carry its own policy threshold and not have expired at now.
func VerifyRoot(env *manifest.Envelope, now time.Time) (*Policy, error) {
	p, err := Parse(env)
	if err != nil {
		return nil, err
	}
	if _, err := p.Approve(env, ActionPolicy, fmt.Sprintf("policy version %d", p.Version)); err != nil {
		return nil, err
	}
	if err := p.CheckExpiry(now); err != nil {
		return nil, err
	}
	return p, nil
}

// VerifyNext checks that env is the successor of prev: version exactly
// prev.Version+1, signed by the policy threshold of prev's maintainers and
// by the policy threshold of its own (TUF's root rotation rule). Expiry is
// not checked here: in a chain only the last policy must be current.
func VerifyNext(prev *Policy, env *manifest.Envelope) (*Policy, *Rotation, error) {
	next, err := Parse(env)
	if err != nil {
		return nil, nil, err
	}
	if next.Version != prev.Version+1 {
		return nil, nil, fmt.Errorf("%w: version %d follows version %d; want %d", ErrNotNext, next.Version, prev.Version, prev.Version+1)
	}
	what := fmt.Sprintf("policy version %d", next.Version)
	byOld, err := prev.Approve(env, ActionPolicy, what+" (maintainers of version "+fmt.Sprint(prev.Version)+")")
	if err != nil {
		return nil, nil, err
	}
	byNew, err := next.Approve(env, ActionPolicy, what+" (its own maintainers)")
	if err != nil {
		return nil, nil, err
	}
	return next, &Rotation{From: prev.Version, To: next.Version, ByOld: byOld, ByNew: byNew}, nil
}

// Rotation records who approved a policy change.
type Rotation struct {
	From  uint64    `json:"from"`
	To    uint64    `json:"to"`
	ByOld *Approval `json:"byOld"`
	ByNew *Approval `json:"byNew"`
}

// VerifyChain walks from the trusted policy through envs, each the next
// version, and returns the last, which must not have expired at now.
func VerifyChain(trusted *Policy, envs []*manifest.Envelope, now time.Time) (*Policy, error) {
	p := trusted
	for _, env := range envs {
		next, _, err := VerifyNext(p, env)
		if err != nil {
			return nil, err
		}
		p = next
	}
	if err := p.CheckExpiry(now); err != nil {
		return nil, err
	}
	return p, nil
}

// CheckExpiry fails if p expired at or before now.
func (p *Policy) CheckExpiry(now time.Time) error {
	exp, _ := manifest.ParseTime(p.Expires)
	if !now.Before(exp) {
		return fmt.Errorf("%w: version %d expired at %s", ErrExpired, p.Version, p.Expires)
	}
	return nil
}

// Digest is the SHA-256 of the policy payload, as a release names it.
func (p *Policy) Digest() string {
	if p.digest.SHA256 == "" {
		p.Marshal() // sets the digest of an in-memory policy
	}
	return "sha256:" + p.digest.SHA256
}

// MaintainerKeys are the maintainers' public keys, in policy order.
func (p *Policy) MaintainerKeys() []*signer.PublicKey { return p.maintainerKeys }

// RebuilderKeys are the rebuilders' public keys, in policy order.
func (p *Policy) RebuilderKeys() []*signer.PublicKey { return p.rebuilderKeys }

// KeyName returns the name a key has in p, or "".
func (p *Policy) KeyName(id string) string { return p.names[id] }

// AllowsProduct reports whether p lists product.
func (p *Policy) AllowsProduct(product string) bool {
	for _, q := range p.Products {
		if q == product {
			return true
		}
	}
	return false
}

// MaxAge is how old a checkpoint may be (maxCheckpointAge).
func (p *Policy) MaxAge() time.Duration {
	d, _ := time.ParseDuration(p.MaxCheckpointAge)
	return d
}

// LogAge is how long a release must have been in the log (minLogAge).
func (p *Policy) LogAge() time.Duration {
	d, _ := time.ParseDuration(p.MinLogAge)
	return d
}
