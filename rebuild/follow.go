package rebuild

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"ssms.dev/ssms/internal/atomicfile"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/signer"
	"ssms.dev/ssms/translog"
)

// Follower rebuilds every new release in a log of the products its policy
// lists, attests the ones that match and submits the attestations to the
// same log. Its state (the last checkpoint verified and the next entry to
// look at, the releases rebuilt and the ones that failed) is in
// Dir/follow.json, replaced atomically after each entry.
type Follower struct {
	Log       *translog.Client
	Policy    *policies.Policy
	Rebuilder *Rebuilder
	Dir       string    // state and attestations
	Report    io.Writer // one line per release handled

	// The retry policy for releases that fail (see DefaultAttempts); zero
	// values mean the defaults. Now is the clock, for tests.
	Attempts   int
	RetryAfter time.Duration
	Timeout    time.Duration // one rebuild, fetch to compare
	Now        func() time.Time

	// LocalSources lets releases name a local repository (a path or a
	// file:// URL) as their source. Without it, only remote sources
	// (https, ssh) are rebuilt: a release, the maintainers' word, must
	// not make a follower build whatever repository lies on its host.
	LocalSources bool
}

type followState struct {
	Checkpoint string `json:"checkpoint"` // the last one verified
	Next       int64  `json:"next"`       // the first entry not yet handled
	// Rebuilt maps each release rebuilt (policies.ReleaseRef of its
	// payload) to the entry that was rebuilt. The log holds one payload
	// more than once when more keys sign it later, and anyone can log a
	// signed release again under other signature bytes; a rebuild costs
	// minutes, so each payload is rebuilt once, whatever the outcome. A
	// rebuild that fails to give an outcome is not recorded here but in
	// Failed.
	Rebuilt map[string]int64 `json:"rebuilt,omitempty"`
	// Failed maps each release that could not be rebuilt (by the same
	// reference) to its attempts, until it rebuilds; one given up stays.
	Failed map[string]*Failure `json:"failed,omitempty"`
}

// FollowPass is what one pass did.
type FollowPass struct {
	From       int64     `json:"from"`
	To         int64     `json:"to"`
	Attested   int       `json:"attested"`
	Mismatched int       `json:"mismatched"`
	Failed     []Failure `json:"failed"` // attempts that failed in this pass
}

// Run handles the entries added since the last pass, then tries again the
// releases that failed before and are due. A release that does not
// rebuild is reported and passed over; so is one that cannot be rebuilt
// (its source cannot be fetched, its recipe fails), recorded to be tried
// again under the retry policy. A failure of the log itself (or of the
// state directory) stops the pass at that entry, to be tried again on the
// next.
func (f *Follower) Run(ctx context.Context) (*FollowPass, error) {
	st, err := f.load()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(f.Dir, "attestations"), 0o700); err != nil {
		return nil, err
	}
	var old *translog.SignedCheckpoint
	if st.Checkpoint != "" {
		if old, err = translog.OpenCheckpoint([]byte(st.Checkpoint), f.Log.Origin, f.Log.Key); err != nil {
			return nil, fmt.Errorf("follow state: %w", err)
		}
	}
	latest, err := f.Log.Update(ctx, old)
	if err != nil {
		return nil, err
	}
	pass := &FollowPass{From: st.Next, To: st.Next, Failed: []Failure{}}
	st.Checkpoint = string(latest.Raw)
	if err := f.save(st); err != nil {
		return nil, err
	}
	var entries [][]byte
	if st.Next < latest.Size {
		if entries, err = f.Log.Entries(ctx, st.Next, latest.Size, latest.Checkpoint); err != nil {
			return nil, err
		}
	}
	for _, entry := range entries {
		index := st.Next
		if err := f.handle(ctx, st, index, entry, pass); err != nil {
			return pass, fmt.Errorf("entry %d: %w", index, err)
		}
		st.Next = index + 1
		pass.To = st.Next
		if err := f.save(st); err != nil {
			return pass, err
		}
	}
	return pass, f.retry(ctx, st, latest.Checkpoint, pass)
}

// handle rebuilds entry if it is a release this rebuilder should rebuild.
func (f *Follower) handle(ctx context.Context, st *followState, index int64, entry []byte, pass *FollowPass) error {
	env, err := manifest.ParseEnvelope(entry)
	if err != nil || env.PayloadType != manifest.PayloadType || manifest.PredicateTypeOf(env.Payload) != manifest.ReleasePredicateType {
		return nil // not a release: attestations, policies, anything else
	}
	rel, _, err := f.Policy.CheckRelease(env)
	if err != nil {
		fmt.Fprintf(f.Report, "entry %d: skipped: %v\n", index, err)
		return nil // not approved under this policy: nothing to vouch for
	}
	p := rel.Predicate
	if p.Build == nil {
		fmt.Fprintf(f.Report, "entry %d: skipped: %s %s has no recipe\n", index, p.Product, p.Version)
		return nil
	}
	if !f.LocalSources && !RemoteSource(p.Source.URI) {
		fmt.Fprintf(f.Report, "entry %d: skipped: %s %s names the source %q, not a remote repository (https://, ssh://); a follower builds a local one only when told to\n", index, p.Product, p.Version, cleanError(errors.New(p.Source.URI)))
		return nil
	}
	ref := policies.ReleaseRef(env.Payload)
	name := filepath.Join(f.Dir, "attestations", fmt.Sprintf("%s-%s.rebuild-%s.json", p.Product, p.Version, f.Rebuilder.Builder))
	if first, ok := st.Rebuilt[ref]; ok {
		if first == index {
			// Rebuilt, but the pass stopped before the attestation was
			// logged: submit the one kept (none after a mismatch).
			raw, err := os.ReadFile(name)
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := f.submit(ctx, index, rel, name, raw, pass); err != nil {
				return err
			}
			delete(st.Failed, ref)
			return nil
		}
		fmt.Fprintf(f.Report, "entry %d: skipped: %s %s was rebuilt already (entry %d)\n", index, p.Product, p.Version, first)
		return nil
	}
	if fl, ok := st.Failed[ref]; ok {
		if fl.Entry != index {
			fmt.Fprintf(f.Report, "entry %d: skipped: %s %s failed at entry %d (attempt %d of %d)\n", index, p.Product, p.Version, fl.Entry, fl.Attempts, f.attempts())
			return nil
		}
		if !f.due(fl) {
			return nil // the pass stopped after recording the failure; retried when due
		}
	}
	rctx, cancel := context.WithTimeout(ctx, f.timeout())
	res, err := f.Rebuilder.Rebuild(rctx, env, rel, "", nil)
	timedOut := rctx.Err() != nil // before cancel, which sets it
	cancel()
	if err != nil && !errors.Is(err, ErrMismatch) {
		if ctx.Err() != nil {
			return err // the follower is stopping: not the release's fault
		}
		if timedOut {
			err = fmt.Errorf("no result after %v: %w", f.timeout(), err)
		}
		f.fail(st, ref, index, &p, err, pass)
		return nil
	}
	var raw []byte
	if err == nil {
		if raw, err = res.Attestation.Marshal(); err != nil {
			return err
		}
		if err := atomicfile.Write(name, raw, 0o644); err != nil {
			return err
		}
	}
	// Recorded before anything else can fail, so the release is never
	// rebuilt again, whatever happens to the submission.
	if st.Rebuilt == nil {
		st.Rebuilt = map[string]int64{}
	}
	st.Rebuilt[ref] = index
	if err := f.save(st); err != nil {
		return err
	}
	if raw == nil {
		delete(st.Failed, ref)
		pass.Mismatched++
		fmt.Fprintf(f.Report, "entry %d: %s %s: MISMATCH, nothing attested; the rebuilt artifacts are kept in %s\n%s", index, p.Product, p.Version, res.Evidence, Report(res.Artifacts))
		return nil
	}
	if err := f.submit(ctx, index, rel, name, raw, pass); err != nil {
		return err
	}
	delete(st.Failed, ref)
	return nil
}

// submit logs the attestation kept in file name.
func (f *Follower) submit(ctx context.Context, index int64, rel *manifest.ReleaseStatement, name string, raw []byte, pass *FollowPass) error {
	proof, _, err := f.Log.Add(ctx, raw)
	var logged *translog.LoggedAsError
	if errors.As(err, &logged) {
		// The log holds the same attestation under other bytes; accept it
		// once the logged bytes show it.
		att, perr := manifest.ParseEnvelope(raw)
		got, gerr := manifest.ParseEnvelope(logged.Entry)
		if perr == nil && gerr == nil && got.Covers(att, []*signer.PublicKey{f.Rebuilder.Signer.Public()}) {
			proof, err = logged.Proof, nil
		}
	}
	if err != nil {
		return fmt.Errorf("submitting the attestation (kept in %s): %w", name, err)
	}
	pass.Attested++
	fmt.Fprintf(f.Report, "entry %d: %s %s reproduced; attestation logged as entry %d\n", index, rel.Predicate.Product, rel.Predicate.Version, proof.Index)
	return nil
}

func (f *Follower) load() (*followState, error) {
	st := &followState{}
	b, err := os.ReadFile(filepath.Join(f.Dir, "follow.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(f.Dir, "follow.json"), err)
	}
	return st, nil
}

func (f *Follower) save(st *followState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(f.Dir, "follow.json"), b, 0o600)
}
