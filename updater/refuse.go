package updater

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/updater/mirror"
	"ssms.dev/ssms/updater/report"
	"ssms.dev/ssms/verifier"
)

// RefusedError is an update refused for a security reason: the running
// version stays, and Report is the failure report written about it.
type RefusedError struct {
	Check    string // one of report.Checks
	Mirror   string // "" when the log, not a mirror, was at fault
	Report   string // the report's path; "" if it could not be written
	Evidence string // a fork's evidence file, if any
	Err      error
}

func (e *RefusedError) Error() string {
	if e.Mirror != "" {
		return fmt.Sprintf("refused the update from mirror %s: %v", mirror.Redact(e.Mirror), e.Err)
	}
	return fmt.Sprintf("refused the update: %v", e.Err)
}

func (e *RefusedError) Unwrap() error { return e.Err }

// checks maps the verifier's errors to the report's names.
var checks = []struct {
	err  error
	name string
}{
	{ErrFrozen, "withheld"},
	{verifier.ErrFork, "fork"},
	{verifier.ErrFormat, "format"},
	{verifier.ErrMixedHeads, "format"},
	{verifier.ErrProduct, "product"},
	{ErrOtherRelease, "product"},
	{verifier.ErrPolicyChain, "policy"},
	{verifier.ErrThreshold, "threshold"},
	{verifier.ErrArtifact, "artifact"},
	{mirror.ErrDigest, "artifact"},
	{verifier.ErrUnknownLog, "unknown-log"},
	{verifier.ErrInclusion, "inclusion"},
	{verifier.ErrQuorum, "quorum"},
	{verifier.ErrStale, "stale"},
	{verifier.ErrConsistency, "consistency"},
	{verifier.ErrRebuildThreshold, "rebuilds"},
	{verifier.ErrRollback, "rollback"},
}

// checkOf names the check err failed.
func checkOf(err error) string {
	for _, c := range checks {
		if errors.Is(err, c.err) {
			return c.name
		}
	}
	return "other"
}

// localMirror stands for a mirror in a local directory in reports.
const localMirror = "(a local directory)"

// refuse records a refusal: a failure report in the state directory (and
// the fork evidence beside it), to submit at the end of the run. check ""
// is taken from err.
func (r *runner) refuse(err error, check string, bundle []byte, from string, art *verifier.Artifact) error {
	if check == "" {
		check = checkOf(err)
	}
	rep := report.New(r.u.Product, check, err, r.now)
	if in := r.out.Running; in != nil {
		rep.Running = &report.Release{Version: in.Version, Sequence: in.Sequence}
	}
	if n := r.out.Newest; n != nil {
		rep.Offered = &report.Release{Version: n.Version, Sequence: n.Sequence}
	}
	rep.Mirror, rep.Log = report.Scrub(from), r.u.Log.Origin
	if from != "" && !mirror.Remote(from) {
		// A directory's path may name the user: it stays out of reports.
		// The mirror's errors name it as "mirror DIR: " and name files by
		// their layout path; a short relative DIR ("." or "m") must not
		// be replaced wherever it occurs in the text.
		rep.Mirror = localMirror
		rep.Error = strings.ReplaceAll(rep.Error, "mirror "+from+": ", "mirror "+localMirror+": ")
		if filepath.IsAbs(from) && len(from) > 1 {
			rep.Error = strings.ReplaceAll(rep.Error, from, localMirror)
		}
	}
	// A mirror's URL may carry a token (user:token@, ?token=), and so may
	// the log's and the error text that quotes them.
	rep.Error = report.Scrub(rep.Error)
	if bundle != nil {
		if _, perr := verifier.ParseBundle(bundle); perr == nil {
			rep.Evidence.Bundle = base64.StdEncoding.EncodeToString(bundle)
		} else {
			// Not a bundle: nothing an auditor can check, and possibly not
			// the mirror's to give (an error page, an internal answer).
			rep.Error += fmt.Sprintf(" (the mirror served %d bytes, sha256:%s, not kept as evidence: not a bundle)",
				len(bundle), manifest.DigestBytes(bundle).SHA256)
		}
	}
	if cp := r.seen; cp != nil {
		rep.Evidence.Checkpoint = string(cp.Raw)
	}
	if art != nil {
		rep.Evidence.Artifact = &report.Artifact{Name: art.Name, Want: "sha256:" + art.Digest.SHA256, Size: art.Size}
	}
	refused := &RefusedError{Check: check, Mirror: from, Err: err}
	var fe *verifier.ForkError
	if errors.As(err, &fe) {
		rep.Evidence.Fork = string(fe.Evidence.Marshal())
		refused.Evidence, _ = r.d.SaveEvidence(fe.Evidence, r.now)
	}
	if len(rep.Error) > 4000 {
		rep.Error = rep.Error[:4000] + "…"
	}
	if path, serr := report.Save(r.u.StateDir, rep); serr == nil {
		refused.Report = path
		r.out.Reports = append(r.out.Reports, path)
		r.reports = append(r.reports, rep)
	} else {
		r.out.Warnings = append(r.out.Warnings, fmt.Sprintf("writing the failure report: %v", serr))
	}
	return refused
}

// submit posts the run's reports to the auditors, at once and each within
// report.SubmitTimeout; a failure is a warning.
func (r *runner) submit(ctx context.Context) {
	if r.u.Report == "" || len(r.reports) == 0 {
		return
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, rep := range r.reports {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := report.Submit(context.WithoutCancel(ctx), r.u.Report, rep); err != nil {
				mu.Lock()
				r.out.Warnings = append(r.out.Warnings, fmt.Sprintf("submitting the failure report to %s: %v", r.u.Report, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// install puts the verified artifact in place, and confirms it at once
// unless the new version is to confirm itself on its first start.
func (r *runner) install(m *mirror.Client, bundle []byte, res *verifier.Result, art verifier.Artifact, staged string) error {
	if _, err := r.d.SaveBundle(bundle); err != nil {
		removeIfExists(staged)
		return err
	}
	err := Install(r.d, Request{
		Path: r.u.Path, Staged: staged, Product: r.u.Product, Digest: art.Digest, Size: art.Size,
		Result: res, Now: r.now, ConfirmWithin: r.u.AwaitStart,
	})
	if err != nil {
		return err
	}
	r.out.Installed, r.out.Mirror = res, m.Base
	if r.u.AwaitStart > 0 {
		return nil
	}
	// Confirm hashes PATH again: what is there is what was verified.
	if err := Confirm(r.d, r.u.Path); err != nil {
		return errors.Join(err, RollBack(r.d, r.u.Path))
	}
	return nil
}
