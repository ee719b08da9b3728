package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"ssms.dev/ssms/internal/clierr"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/verifier"
)

// TestSecurityRefusalsExplained: every refusal that may mean an attack
// prints a SECURITY ERROR line and a hint, wherever it is wrapped; the
// refusals that mean none do not.
func TestSecurityRefusalsExplained(t *testing.T) {
	for _, r := range securityRefusals {
		for _, target := range r.is {
			var b strings.Builder
			report(&b, fmt.Errorf("bundle.json: %w", fmt.Errorf("%w: details", target)))
			out := b.String()
			if !strings.Contains(out, "ssms: SECURITY ERROR: "+r.meaning+"\n") || !strings.Contains(out, "ssms: hint: ") {
				t.Errorf("%v: not explained:\n%s", target, out)
			}
		}
	}
	release := &policies.ThresholdError{What: "release demo 1.0.0", Action: policies.ActionRelease, Have: 1, Need: 2}
	var b strings.Builder
	report(&b, release)
	if !strings.Contains(b.String(), "SECURITY ERROR: too few of the policy's maintainers signed this release") {
		t.Errorf("a release below its threshold is not explained:\n%s", b.String())
	}
	for _, benign := range []error{
		&policies.ThresholdError{What: "policy version 1", Action: policies.ActionPolicy, Have: 0, Need: 2}, // being signed
		fmt.Errorf("%w: x", verifier.ErrStateCorrupt),
		fmt.Errorf("%w: x", verifier.ErrConsistency),
		&verifier.TooEarlyError{},
		errors.New("open x: no such file"),
	} {
		b.Reset()
		report(&b, benign)
		if strings.Contains(b.String(), "SECURITY ERROR") {
			t.Errorf("%v: explained as an attack:\n%s", benign, b.String())
		}
	}
	// A specific hint from the command wins over the generic action.
	b.Reset()
	report(&b, clierr.Hint(fmt.Errorf("%w: x", verifier.ErrFork), "the evidence is in F"))
	if !strings.Contains(b.String(), "SECURITY ERROR: the log signed two histories") || !strings.HasSuffix(b.String(), "ssms: hint: the evidence is in F\n") {
		t.Errorf("fork with evidence:\n%s", b.String())
	}
}
