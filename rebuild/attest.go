package rebuild

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/signer"
)

// ErrMismatch means a release did not rebuild bit for bit.
var ErrMismatch = errors.New("the release does not rebuild bit for bit; nothing was attested")

// Rebuilder rebuilds releases and attests the ones that match.
type Rebuilder struct {
	Signer  signer.Signer
	Builder string    // the name attestations carry: the key's name in the policy
	Output  io.Writer // the build's output
	Keep    bool      // keep the work directory even on success
	Runner  *Runner   // the toolchain, module cache and sandbox builds use
}

// Result is what a rebuild found.
type Result struct {
	Artifacts   []Artifact
	Work        string             // the work directory, if kept
	Src         string             // the rebuilt tree in it; deleted after a mismatch
	Evidence    string             // after a mismatch: the rebuilt artifacts and the report (Work/rebuilt)
	Attestation *manifest.Envelope // signed, on a match
}

// Rebuild fetches the source of the release (from source, or from the URI
// the release records), builds it with its recipe and compares every
// artifact. published names published files, to explain a mismatch. On a
// mismatch it returns ErrMismatch with the result, and keeps only the
// rebuilt artifacts (as plain files) and the report, in Result.Evidence. The caller has checked the release's signatures.
func (r *Rebuilder) Rebuild(ctx context.Context, env *manifest.Envelope, st *manifest.ReleaseStatement, source string, published map[string]string) (*Result, error) {
	p := st.Predicate
	if p.Build == nil {
		return nil, errors.New("the release has no recipe (predicate.build); it cannot be rebuilt")
	}
	if source == "" {
		source = p.Source.URI
	}
	if err := r.Runner.Check(p.Build); err != nil { // before a byte is fetched
		return nil, err
	}
	work, err := os.MkdirTemp("", "ssms-rebuild-")
	if err != nil {
		return nil, err
	}
	keep := r.Keep
	defer func() {
		if !keep {
			os.RemoveAll(work)
		}
	}()
	res := &Result{}
	if keep {
		res.Work = work
		fmt.Fprintf(r.Output, "work directory (kept): %s\n", work)
	}
	started := time.Now()
	fmt.Fprintf(r.Output, "rebuilding %s %s from %s at %s\n", p.Product, p.Version, source, p.Source.Commit)
	r.Runner.Stages.Stage("cloning %s at %s", source, p.Source.Commit)
	if res.Src, err = Fetch(ctx, source, p.Source.Commit, work); err != nil {
		return nil, err
	}
	names := make([]string, len(st.Subject))
	for i, s := range st.Subject {
		names[i] = s.Name
	}
	if err := CheckFresh(res.Src, names); err != nil {
		return nil, err
	}
	if err := r.Runner.Build(ctx, p.Build, res.Src, work); err != nil {
		return nil, err
	}
	// The build is over and every process of it killed: what it left in
	// work is only files. A fresh evidence directory, not one it made.
	evidence := filepath.Join(work, EvidenceDir)
	if err := os.RemoveAll(evidence); err != nil {
		return nil, err
	}
	if err := os.Mkdir(evidence, 0o755); err != nil {
		return nil, err
	}
	r.Runner.Stages.Stage("hashing and comparing %d artifacts", len(st.Subject))
	var ok bool
	res.Artifacts, ok = Compare(st.Subject, res.Src, published, evidence)
	if !ok {
		// Only the rebuilt files and the reports are kept: the tree the
		// build wrote into is deleted, never left for someone to run git in.
		if res.Evidence, err = keepEvidence(work, res.Src, res.Artifacts); err != nil {
			return nil, err
		}
		keep, res.Work, res.Src = true, work, ""
		return res, ErrMismatch
	}
	r.Runner.Stages.Stage("signing the attestation")
	_, payload, err := manifest.NewRebuild(st.Subject, manifest.RebuildPredicate{
		Release: policies.ReleaseRef(env.Payload), Product: p.Product, Version: p.Version, Builder: r.Builder,
		Source: p.Source, Build: *p.Build, Started: manifest.FormatTime(started), Finished: manifest.FormatTime(time.Now()),
		Outcome: manifest.OutcomeReproduced,
	})
	if err != nil {
		return nil, err
	}
	res.Attestation = &manifest.Envelope{PayloadType: manifest.PayloadType, Payload: payload}
	if err := res.Attestation.Sign(ctx, r.Signer); err != nil {
		return nil, err
	}
	return res, nil
}
