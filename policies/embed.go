package policies

import (
	_ "embed"
	"fmt"
	"time"

	"ssms.dev/ssms/manifest"
)

// projectPolicy is version 1 of the policy for the project's own products,
// smp-server and smp-client: the root of trust compiled into the binaries.
// Its maintainers' private keys are held offline by the maintainers and
// are in no repository.
//
//go:embed ssms.policy.json
var projectPolicy []byte

// DefaultEnvelope returns the embedded project policy envelope.
func DefaultEnvelope() (*manifest.Envelope, error) {
	return manifest.ParseEnvelope(projectPolicy)
}

// Default returns the embedded project policy, verified as a root.
func Default(now time.Time) (*Policy, error) {
	env, err := DefaultEnvelope()
	if err != nil {
		return nil, fmt.Errorf("embedded project policy: %w", err)
	}
	p, err := VerifyRoot(env, now)
	if err != nil {
		return nil, fmt.Errorf("embedded project policy: %w", err)
	}
	return p, nil
}
