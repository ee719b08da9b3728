package startcheck

import (
	"os"

	"github.com/spf13/pflag"

	"ssms.dev/ssms/internal/clierr"
	"ssms.dev/ssms/policies"
)

// AddPinFlags adds --policy and the state directory flag alone: what an
// update of the program needs to know, without --allow-unverified.
func (o *Options) AddPinFlags(f *pflag.FlagSet) {
	f.StringVar(&o.Policy, "policy", "", "the policy to pin instead of the project's embedded one (env "+PolicyEnv+")")
	f.StringVar(&o.State, o.stateFlag(), "", "the state directory of the installed binary (env "+StateEnv+"; default PATH.ssms beside it)")
}

// Pinned is the policy the program pins: --policy, $SSMS_POLICY, or the
// project's policy it embeds.
func (o *Options) Pinned() (*policies.Policy, error) {
	p, err := o.pinned()
	if err != nil {
		return nil, clierr.Hint(err, "--policy takes a policy envelope (policy.json) signed by its own policy threshold")
	}
	return p, nil
}

// StateDir is the state directory the flag or $SSMS_STATE names; ""
// is the default, PATH.ssms beside the binary.
func (o *Options) StateDir() string {
	if o.State != "" {
		return o.State
	}
	return os.Getenv(StateEnv)
}

const policyHint = "--policy takes a policy envelope (policy.json) signed by its own policy threshold"
