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

	"ssms.dev/ssms/internal/atomicfile"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/signer"
	"ssms.dev/ssms/translog"
)

// Follower rebuilds every new release in a log of the products its policy
// lists, attests the ones that match and submits the attestations to the
// same log. Its state (the last checkpoint verified and the next entry to
// look at, and the releases rebuilt) is in Dir/follow.json, replaced
// atomically after each entry.
type Follower struct {
	Log       *translog.Client
	Policy    *policies.Policy
	Rebuilder *Rebuilder
	Dir       string    // state and attestations
	Report    io.Writer // one line per release handled
}

type followState struct {
	Checkpoint string `json:"checkpoint"` // the last one verified
	Next       int64  `json:"next"`       // the first entry not yet handled
	// Rebuilt maps each release rebuilt (policies.ReleaseRef of its
	// payload) to the entry that was rebuilt. The log holds one payload
	// more than once when more keys sign it later, and anyone can log a
	// signed release again under other signature bytes; a rebuild costs
	// minutes, so each payload is rebuilt once, whatever the outcome.
	Rebuilt map[string]int64 `json:"rebuilt,omitempty"`
}

// FollowPass is what one pass did.
type FollowPass struct {
	From, To   int64
	Attested   int
	Mismatched int
}

// Run handles the entries added since the last pass. A release that does
// not rebuild is reported and passed over; any other failure (the source
// cannot be fetched, the log is down) stops the pass at that entry, to be
// tried again on the next.
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
	pass := &FollowPass{From: st.Next, To: st.Next}
	st.Checkpoint = string(latest.Raw)
	if st.Next >= latest.Size {
		return pass, f.save(st)
	}
	entries, err := f.Log.Entries(ctx, st.Next, latest.Size, latest.Checkpoint)
	if err != nil {
		return nil, err
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
	return pass, nil
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
			return f.submit(ctx, index, rel, name, raw, pass)
		}
		fmt.Fprintf(f.Report, "entry %d: skipped: %s %s was rebuilt already (entry %d)\n", index, p.Product, p.Version, first)
		return nil
	}
	res, err := f.Rebuilder.Rebuild(ctx, env, rel, "", nil)
	if err != nil && !errors.Is(err, ErrMismatch) {
		return err
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
		pass.Mismatched++
		fmt.Fprintf(f.Report, "entry %d: %s %s: MISMATCH, nothing attested; evidence in %s\n%s", index, p.Product, p.Version, res.Work, Report(res.Artifacts))
		return nil
	}
	return f.submit(ctx, index, rel, name, raw, pass)
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
