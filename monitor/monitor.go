// Package monitor is the auditor's view of a log: it follows the log's
// checkpoints, verifies each one (signature, witness quorum, consistency
// with the last one it verified) and every new entry, and reports anything
// a maintainer did not expect as a Finding.
//
// Entry checks: a well-formed DSSE envelope; a release statement signed by
// the threshold of maintainers of the policy in force, for a product it
// covers; no two different releases for one product and version or one
// product and sequence number (equivocation); sequence numbers that go up
// by one; policy rotations that follow the rule (version N+1, threshold of
// N and of N+1); rebuild attestations signed by a rebuilder of the policy,
// each naming a logged release and its digests, and every release reaching
// the policy's rebuild threshold within a grace period. Split views produce
// an evidence file anyone can check.
package monitor

import (
	"encoding/json"
	"fmt"
)

// Kinds of findings.
const (
	KindInconsistentLog = "inconsistent-log" // the log rewrote history
	KindWitnessQuorum   = "witness-quorum"   // checkpoint lacks cosignatures or is stale
	KindBadEntry        = "bad-entry"        // not a well-formed envelope
	KindBelowThreshold  = "below-threshold"  // release not approved by the policy
	KindEquivocation    = "equivocation"     // two releases for one version or sequence
	KindSequence        = "sequence"         // a gap or a step back in sequence numbers
	KindBadRotation     = "bad-rotation"     // a policy that does not follow the rule
	KindUnknownPayload  = "unknown-payload"  // nothing this monitor knows how to check
	KindBadAttestation  = "bad-attestation"  // a rebuild attestation that is invalid or contradicts its release
	KindRebuildMissing  = "rebuild-missing"  // a release short of its rebuild threshold after the grace period
)

// Finding is one alert, with the evidence needed to look into it.
type Finding struct {
	Kind     string `json:"kind"`
	Index    int64  `json:"index"`           // the entry (or checkpoint size) concerned
	Other    *int64 `json:"other,omitempty"` // the conflicting entry, for equivocation
	Message  string `json:"message"`
	Evidence string `json:"evidence,omitempty"` // path of an evidence file
}

func (f Finding) String() string {
	return fmt.Sprintf("%s: entry %d: %s", f.Kind, f.Index, f.Message)
}

// JSON is the finding as one line of JSON.
func (f Finding) JSON() string {
	b, _ := json.Marshal(f)
	return string(b)
}
