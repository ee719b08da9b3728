package policies

import (
	_ "embed"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"ssms.dev/ssms/manifest"
)

// projectPolicy is version 1 of the policy for the project's own products,
// smp-server and smp-client: the root of trust compiled into the binaries
// unless a deployment compiles in its own (RootOverrideVar). Its
// maintainers' private keys are held offline by the maintainers and are
// in no repository; docs/release-process.md says how they are made, kept
// and rotated.
//
//go:embed ssms.policy.json
var projectPolicy []byte

// rootOverride, when not empty, is a deployment's own root policy: the
// policy envelope (its JSON file) in standard base64, padding optional,
// set at build time with
//
//	go build -ldflags "-X ssms.dev/ssms/policies.rootOverride=$(base64 -w0 policy.json | tr -d =)"
//
// or the flag "ssms policy root-flags" prints. Without padding it uses
// only characters a rebuild recipe's -X value may hold, so a release
// built this way can be rebuilt and attested. It replaces the project's
// policy entirely: a binary trusts one root.
var rootOverride string

// RootOverrideVar is the -X name that sets the compiled-in root policy.
const RootOverrideVar = "ssms.dev/ssms/policies.rootOverride"

// RootSource says which root policy this binary has compiled in.
func RootSource() string {
	if rootOverride != "" {
		return "a deployment's root policy, compiled in with -X " + RootOverrideVar
	}
	return "the SSMS project's policy (policies/ssms.policy.json)"
}

// EncodeRootOverride is the value of RootOverrideVar that compiles in the
// policy envelope file b.
func EncodeRootOverride(b []byte) string { return base64.RawStdEncoding.EncodeToString(b) }

// rootBytes is the compiled-in root policy file.
func rootBytes() ([]byte, error) {
	if rootOverride == "" {
		return projectPolicy, nil
	}
	b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(rootOverride, "="))
	if err != nil {
		return nil, fmt.Errorf("not base64 (%w); see docs/release-process.md", err)
	}
	return b, nil
}

// DefaultEnvelope returns the compiled-in root policy envelope.
func DefaultEnvelope() (*manifest.Envelope, error) {
	b, err := rootBytes()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", RootSource(), err)
	}
	env, err := manifest.ParseEnvelope(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", RootSource(), err)
	}
	return env, nil
}

// Default returns the compiled-in root policy, verified as a root: signed
// by its own policy threshold, and not expired.
func Default(now time.Time) (*Policy, error) {
	env, err := DefaultEnvelope()
	if err != nil {
		return nil, err
	}
	p, err := VerifyRoot(env, now)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", RootSource(), err)
	}
	return p, nil
}
