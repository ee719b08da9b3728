package verifier

import (
	"errors"
	"fmt"
	"time"

	"ssms.dev/ssms/translog"
)

// The checks, in the order Verify makes them. Every error Verify returns
// wraps exactly one of these (errors.Is), and its message says what failed.
var (
	// ErrFormat: the bundle (or an entry, or a proof in it) is malformed,
	// oversized, not canonical, or holds one entry twice.
	ErrFormat = errors.New("malformed bundle")
	// ErrMixedHeads: the bundle's proofs are against different checkpoints.
	ErrMixedHeads = errors.New("bundle mixes checkpoints")
	// ErrNotInstalled: the self-check (ModeInstalled) of a product the
	// state records no install of: nothing says which release should run.
	ErrNotInstalled = errors.New("not installed")
	// ErrStateCorrupt: the client state does not parse. Never a fork alarm:
	// a power cut can do this.
	ErrStateCorrupt = errors.New("client state is corrupt")
	// ErrPolicyChain: the chain from the pinned policy to the one in force
	// is broken, truncated, replaced, or expired.
	ErrPolicyChain = errors.New("policy chain refused")
	// ErrUnknownLog: the head is not signed by a log of the policy.
	ErrUnknownLog = errors.New("checkpoint not signed by a log of the policy")
	// ErrInclusion: a document is not proven to be in the head's tree.
	ErrInclusion = errors.New("not proven to be in the log")
	// ErrQuorum: the head lacks the policy's witness quorum.
	ErrQuorum = errors.New("witness quorum not met")
	// ErrStale: the quorum's cosignatures are older than maxCheckpointAge
	// (a frozen view of the log).
	ErrStale = errors.New("checkpoint is stale")
	// ErrConsistency: the head cannot be shown to extend the checkpoint
	// this client accepted before (no proof, or one that proves nothing);
	// a proven fork is a ForkError instead.
	ErrConsistency = errors.New("consistency with the client's checkpoint not proven")
	// ErrFork: the log signed two views that cannot both be true; the
	// error is a *ForkError with evidence.
	ErrFork = errors.New("the log forked")
	// ErrThreshold: the release lacks its maintainer threshold (distinct
	// keys of the policy in force), or is for a product it does not cover.
	ErrThreshold = errors.New("release not approved by the policy")
	// ErrProduct: the bundle is for another product than the one asked for.
	ErrProduct = errors.New("bundle is for another product")
	// ErrArtifact: an artifact does not match the release (digest, size,
	// name), or none was given.
	ErrArtifact = errors.New("artifact does not match the release")
	// ErrRebuildThreshold: too few distinct rebuilders attested, in the log,
	// that this release rebuilds bit for bit.
	ErrRebuildThreshold = errors.New("rebuild threshold not met")
	// ErrRollback: the release does not move forward (sequence not above
	// the installed one), or a rollback release returns to a version that
	// was never logged.
	ErrRollback = errors.New("rollback refused")
	// ErrTooEarly: the release has not been visible in the log for
	// minLogAge; the error is a *TooEarlyError.
	ErrTooEarly = errors.New("release too recent")
)

// ForkError is a proven fork: Evidence is the file `ssms verify-evidence`
// checks, holding both signed checkpoints and the proof.
type ForkError struct {
	Evidence *translog.Evidence
	Finding  string // what the evidence proves, in words
}

func (e *ForkError) Error() string { return fmt.Sprintf("%v: %s", ErrFork, e.Finding) }
func (e *ForkError) Unwrap() error { return ErrFork }

// TooEarlyError says when the release becomes installable.
type TooEarlyError struct {
	VisibleSince time.Time     // the witnessed time it entered the log
	MinLogAge    time.Duration // the policy's
	Until        time.Time     // VisibleSince + MinLogAge
}

func (e *TooEarlyError) Error() string {
	return fmt.Sprintf("%v: visible in the log since %s, the policy wants %s: installable from %s",
		ErrTooEarly, e.VisibleSince.UTC().Format(time.RFC3339), e.MinLogAge, e.Until.UTC().Format(time.RFC3339))
}
func (e *TooEarlyError) Unwrap() error { return ErrTooEarly }

func fail(check error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", check, fmt.Sprintf(format, args...))
}
