package main

import (
	"errors"

	"ssms.dev/ssms/internal/clierr"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/translog"
	"ssms.dev/ssms/updater/mirror"
	"ssms.dev/ssms/verifier"
)

// errArtifactMismatch marks release verify's refusal of an artifact.
var errArtifactMismatch = errors.New("artifact does not match the release")

// securityRefusal says what a refusal may mean and what to do about it.
type securityRefusal struct {
	is              []error // any of these, by errors.Is
	meaning, action string
}

// securityRefusals is the one place that explains the refusals that may
// mean an attack, whichever command meets them; the first that matches
// explains. Refusals that mean no attack (a damaged state file, a release
// not yet old enough, consistency not yet proven) are not listed.
var securityRefusals = []securityRefusal{
	{[]error{verifier.ErrFork, translog.ErrConsistency},
		"the log signed two histories that cannot both be true: it may be showing some clients a view that hides a release from everyone else, or its key is in the wrong hands",
		"do not run anything on the strength of this log; keep the evidence and send it to the project's maintainers and log auditors (anyone can check it: ssms verify-evidence FILE --policy POLICY)"},
	{[]error{verifier.ErrArtifact, mirror.ErrArtifact, manifest.ErrTooLong, errArtifactMismatch},
		"this file is not the one the maintainers signed: it was changed in transit, on a mirror or on disk, or it is another build",
		"do not run it; keep the file and the release or bundle, and report them to the project's maintainers"},
	{[]error{verifier.ErrPolicyChain},
		"the trust policy offered does not descend from the one you pinned by its rotation rule: it may be a policy its maintainers never approved",
		"do not run it; keep the bundle and report it to the project's maintainers"},
	{[]error{verifier.ErrThreshold, errReleaseThreshold},
		"too few of the policy's maintainers signed this release: it may be forged, signed with keys the policy does not trust, or not finished",
		"do not run it; if you expected a finished release, report it to the project's maintainers with the release file"},
	{[]error{verifier.ErrProduct},
		"the bundle is for another product: installing it would replace this program with a different one",
		"do not run it; get the bundle for the product you run"},
	{[]error{verifier.ErrUnknownLog, translog.ErrSignature, translog.ErrWrongOrigin},
		"the checkpoint is not signed by the log you trust: it comes from another log, is forged, or the key you gave is not that log's",
		"check the log's verifier key (the policy's, or --vkey); do not trust anything this checkpoint proves"},
	{[]error{verifier.ErrInclusion, translog.ErrInclusion},
		"the log does not prove that it holds this document: the proof is for another entry, or one of them was changed; a release missing from the log is one no monitor can see",
		"check that you paired the proof with its own entry; otherwise do not run it, and report the files"},
	{[]error{verifier.ErrQuorum},
		"too few of the policy's witnesses cosigned this view of the log: it may be a view shown only to you",
		"do not run it; get a bundle made from the log again, and report it if this one keeps coming"},
	{[]error{verifier.ErrStale},
		"every cosignature is older than the policy allows: someone may be holding you on an old view of the log to keep an update from you",
		"get a newer bundle; if only stale ones come, report it to the project's maintainers"},
	{[]error{verifier.ErrRollback},
		"a release no newer than the one installed is offered as an update: it may be a replay that would bring back what later releases fixed",
		"do not run it; keep the bundle and report where it came from"},
	{[]error{verifier.ErrRebuildThreshold},
		"too few independent rebuilders reproduced this release from its source: the binary may not be what its source builds",
		"do not run it yet; rebuilds may still come (wait and try again), and report it if they do not"},
}

// errReleaseThreshold is policies.ErrThreshold for a release or rollback;
// a policy short of its own signatures is usually one still being signed.
var errReleaseThreshold = errors.New("release threshold not met")

// explainSecurity marks err with what it may mean and what to do, when it
// is a refusal that may mean an attack; otherwise it returns err as is.
func explainSecurity(err error) error {
	for _, benign := range []error{verifier.ErrStateCorrupt, verifier.ErrConsistency, verifier.ErrTooEarly} {
		if errors.Is(err, benign) {
			return err // a damaged file, or a wait: never an attack alarm
		}
	}
	var te *policies.ThresholdError
	if errors.As(err, &te) && te.Action != policies.ActionPolicy {
		err = &marked{err, errReleaseThreshold}
	}
	for _, r := range securityRefusals {
		for _, target := range r.is {
			if errors.Is(err, target) {
				return clierr.Security(err, r.meaning, r.action)
			}
		}
	}
	return err
}

// marked is err, also matching mark by errors.Is, with err's message.
type marked struct{ err, mark error }

func (m *marked) Error() string   { return m.err.Error() }
func (m *marked) Unwrap() []error { return []error{m.err, m.mark} }
