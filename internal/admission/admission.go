// Package admission decides which entries a log accepts: a DSSE envelope,
// within the size limit, with at least one valid signature by a maintainer
// or rebuilder key of a policy the log serves. This is spam control, not
// trust: verifiers check thresholds themselves.
package admission

import (
	"fmt"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/signer"
	"ssms.dev/ssms/translog"
)

// Policy admits envelopes signed by a key of any of its policies.
type Policy struct {
	keys []*signer.PublicKey
}

// New admits for the given policies.
func New(pols []*policies.Policy) *Policy {
	a := &Policy{}
	seen := map[string]bool{}
	for _, p := range pols {
		for _, k := range append(append([]*signer.PublicKey{}, p.MaintainerKeys()...), p.RebuilderKeys()...) {
			if !seen[k.ID()] {
				seen[k.ID()] = true
				a.keys = append(a.keys, k)
			}
		}
	}
	return a
}

// Admit implements translog.Admitter.
func (a *Policy) Admit(entry []byte) error {
	env, err := manifest.ParseEnvelope(entry)
	if err != nil {
		return err
	}
	v := env.Verify(a.keys)
	if len(v.Signers) == 0 {
		return fmt.Errorf("%w: no signature by a maintainer or rebuilder key of a policy this log serves", translog.ErrNotAdmitted)
	}
	return nil
}
