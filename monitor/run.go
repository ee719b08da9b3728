package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/translog"
	"ssms.dev/ssms/witness"
)

// Monitor follows one log under one pinned policy.
type Monitor struct {
	Log    *translog.Client
	Pinned *policies.Policy // trusted root; rotations found in the log are followed
	Dir    string           // state and evidence
	Now    func() time.Time
	// RebuildGrace is how long a release may lack its rebuild threshold
	// (default DefaultRebuildGrace).
	RebuildGrace time.Duration
}

// Pass is the result of one Run.
type Pass struct {
	From, To int64 // entries checked: [From, To)
	Releases int
	Findings []Finding

	facts Facts // what the index keeps of this pass
}

// Run checks the log's latest checkpoint and every entry added since the
// last run, then saves the new state. An inconsistent log stops the pass:
// its evidence is written and the state is not advanced.
func (m *Monitor) Run(ctx context.Context) (*Pass, error) {
	st, err := loadState(m.Dir)
	if err != nil {
		return nil, err
	}
	pol, err := m.currentPolicy(st)
	if err != nil {
		return nil, err
	}
	var old *translog.SignedCheckpoint
	if st.Checkpoint != "" {
		if old, err = translog.OpenCheckpoint([]byte(st.Checkpoint), m.Log.Origin, m.Log.Key); err != nil {
			return nil, fmt.Errorf("monitor state: %w", err)
		}
	}
	latest, err := m.Log.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	pass := &Pass{To: latest.Size}
	if old != nil {
		pass.From = old.Size
		if e, err := m.checkConsistency(ctx, old, latest); err != nil {
			if e == nil {
				return nil, err
			}
			f := Finding{Kind: KindInconsistentLog, Index: latest.Size, Message: err.Error()}
			f.Evidence, _ = m.writeEvidence(e, old.Size, latest.Size)
			pass.Findings = append(pass.Findings, f)
			// The state keeps the last consistent checkpoint; only the
			// alert is committed, to the index.
			return pass, m.commit(st, &Pass{From: old.Size, To: old.Size, Findings: pass.Findings})
		}
	}
	if _, err := witness.CheckQuorum(latest.Raw, pol.Witnesses.VKeys, pol.Witnesses.Quorum, m.now(), pol.MaxAge()); err != nil {
		pass.Findings = append(pass.Findings, Finding{Kind: KindWitnessQuorum, Index: latest.Size, Message: err.Error()})
	}
	entries, err := m.Log.Entries(ctx, pass.From, pass.To, latest.Checkpoint)
	if err != nil {
		return nil, err
	}
	if err := m.checkEntries(st, pol, pass, entries); err != nil {
		return nil, err
	}
	m.overdueRebuilds(st, pass)
	st.Checkpoint = string(latest.Raw)
	return pass, m.commit(st, pass)
}

// commit appends the pass to the index, then saves the state with the
// index's new committed size.
func (m *Monitor) commit(st *state, pass *Pass) error {
	facts := pass.facts
	facts.Findings = pass.Findings
	facts.Pass = IndexedPass{From: pass.From, To: pass.To, Time: manifest.FormatTime(m.now())}
	// An alert repeated on every pass (a release still short of its
	// rebuilds) is committed when it changes, not once a minute.
	b, _ := json.Marshal(pass.Findings)
	repeated := manifest.DigestBytes(b).SHA256
	if pass.To == pass.From && repeated == st.Repeated {
		return st.save(m.Dir)
	}
	size, err := m.appendIndex(st.IndexSize, pass, &facts)
	if err != nil {
		return fmt.Errorf("monitor index: %w", err)
	}
	st.IndexSize, st.Repeated = size, repeated
	return st.save(m.Dir)
}

func (m *Monitor) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// currentPolicy replays the rotations accepted in earlier runs.
func (m *Monitor) currentPolicy(st *state) (*policies.Policy, error) {
	p := m.Pinned
	for _, raw := range st.Policies {
		env, err := manifest.ParseEnvelope(raw)
		if err != nil {
			return nil, err
		}
		if p, _, err = policies.VerifyNext(p, env); err != nil {
			return nil, fmt.Errorf("monitor state: stored rotation: %w", err)
		}
	}
	return p, nil
}

// checkConsistency checks that latest extends old. When the log's proof
// fails, or the log does not serve one, the log's tiles decide: they are
// authenticated by latest's signed root, so the root they give for old's
// size is what the log committed to. Different from old's root, that is a
// fork, and the evidence (returned with the error) is conclusive whatever
// the sizes; the same, the log is consistent and only its proof was bad.
// An error without evidence means the monitor could not tell.
func (m *Monitor) checkConsistency(ctx context.Context, old, latest *translog.SignedCheckpoint) (*translog.Evidence, error) {
	const note = "monitor: checkpoint inconsistent with the last one verified"
	err := m.Log.CheckConsistency(ctx, old.Checkpoint, latest.Checkpoint)
	if err == nil {
		return nil, nil
	}
	var ce *translog.ConsistencyError
	errors.As(err, &ce)
	if old.Size >= latest.Size {
		if ce == nil {
			return nil, err
		}
		// Two roots for one size prove themselves; a smaller tree than
		// one already signed is kept with what the log served.
		return translog.NewEvidence(m.Log.VKey, old.Raw, latest.Raw, ce.Proof, note), err
	}
	prefix, hashes, terr := m.Log.TileConsistency(ctx, old.Size, latest.Checkpoint)
	if terr != nil {
		return nil, errors.Join(err, terr)
	}
	if prefix == old.Hash {
		return nil, nil // the tiles prove consistency; the served proof was wrong
	}
	if ce == nil {
		err = &translog.ConsistencyError{Old: old.Checkpoint, New: latest.Checkpoint, Proof: hashes,
			Underlying: fmt.Sprintf("the log's tiles give root %s for size %d (%v)", prefix, old.Size, err)}
	}
	return translog.ForkEvidence(m.Log.VKey, old, latest, prefix, hashes, note), err
}

// writeEvidence keeps e in DIR/evidence, named by the two sizes.
func (m *Monitor) writeEvidence(e *translog.Evidence, oldSize, newSize int64) (string, error) {
	dir := filepath.Join(m.Dir, "evidence")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, fmt.Sprintf("%d-%d.evidence", oldSize, newSize))
	return path, os.WriteFile(path, e.Marshal(), 0o644)
}

// checked is an entry after the parallel part of the work.
type checked struct {
	env      *manifest.Envelope
	st       *manifest.ReleaseStatement
	approval error // nil if the release meets its threshold
	signers  []string
	need     int // rebuild attestations the release needs
	rebuild  *policies.Rebuild
	kind     string // KindBadEntry or KindUnknownPayload, with err
	err      error
}

// checkEntries verifies entries in parallel between policy rotations (a
// rotation changes which keys count), then applies the checks that need
// order: equivocation, sequences, rotations.
func (m *Monitor) checkEntries(st *state, pol *policies.Policy, pass *Pass, entries [][]byte) error {
	envs := parallel(len(entries), func(i int) checked {
		env, err := manifest.ParseEnvelope(entries[i])
		if err != nil {
			return checked{kind: KindBadEntry, err: err}
		}
		return checked{env: env}
	})
	for start := 0; start < len(envs); {
		end := start
		for end < len(envs) && !isPolicy(envs[end]) {
			end++
		}
		segment := envs[start:end]
		results := parallel(len(segment), func(i int) checked { return verifyEntry(pol, segment[i]) })
		for i, r := range results {
			m.apply(st, pol, pass, pass.From+int64(start+i), r)
		}
		if end < len(envs) {
			pol = m.rotate(st, pol, pass, pass.From+int64(end), entries[end], envs[end].env)
			end++
		}
		start = end
	}
	return nil
}

func isPolicy(c checked) bool { return c.env != nil && c.env.PayloadType == policies.PayloadType }

// parallel computes f(0..n-1) on every CPU.
func parallel(n int, f func(int) checked) []checked {
	out := make([]checked, n)
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				out[i] = f(i)
			}
		}()
	}
	wg.Wait()
	return out
}

// verifyEntry checks a parsed entry under pol: a release statement and
// its threshold.
func verifyEntry(pol *policies.Policy, c checked) checked {
	if c.err != nil {
		return c
	}
	env := c.env
	if env.PayloadType != manifest.PayloadType {
		return checked{env: env, kind: KindUnknownPayload, err: fmt.Errorf("payload type %q", env.PayloadType)}
	}
	st, err := manifest.ParseRelease(env.Payload)
	if err != nil {
		// Releases are the common case; only now look at what else it is.
		switch manifest.PredicateTypeOf(env.Payload) {
		case manifest.ReleasePredicateType:
			return checked{env: env, kind: KindBadEntry, err: err}
		case manifest.RebuildPredicateType:
			return verifyRebuild(pol, env)
		}
		return checked{env: env, kind: KindUnknownPayload, err: err} // another kind of statement, or none
	}
	a, approval := pol.ApproveRelease(env, st)
	c = checked{env: env, st: st, approval: approval, need: pol.Rebuilders.Threshold}
	if a != nil {
		c.signers = a.Signers
	}
	return c
}

// verifyRebuild checks an entry that is not a release: a rebuild
// attestation by one of pol's rebuilders, or something unknown.
func verifyRebuild(pol *policies.Policy, env *manifest.Envelope) checked {
	r, err := pol.VerifyRebuild(env)
	if err != nil {
		return checked{env: env, kind: KindBadAttestation, err: err}
	}
	return checked{env: env, rebuild: r}
}
