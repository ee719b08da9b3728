package updater

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/translog"
	"ssms.dev/ssms/updater/mirror"
	"ssms.dev/ssms/verifier"
	"ssms.dev/ssms/verifier/bundler"
)

// fromMirrors asks each mirror, in order, for the newest release, and
// installs it from the first whose offer verifies. A mirror without it is
// reported as withholding it; when every mirror does, that is a freeze.
// A mirror that cannot be read (an HTTP error, a network failure, a
// stall) withholds it as well once the freeze grace is over: a mirror
// that answers 503 to the newest release, run after run, freezes its
// clients as surely as one that answers 404.
func (r *runner) fromMirrors(ctx context.Context) error {
	want := r.out.Newest
	var withheld []missing
	var refused int
	var last error
	// Mirrors that lack the newest release are reported once it has been
	// in the log longer than the grace: an honest mirror takes a while.
	grace, err := r.inGrace()
	if err != nil {
		return err
	}
	defer func() {
		for _, m := range withheld {
			if !grace {
				r.refuse(m.why(r.u.Product, want), "withheld", nil, m.base, nil)
			}
		}
	}()
	// unread decides what a mirror's failure to serve a file counts as.
	unread := func(m *mirror.Client, err error) error {
		switch {
		case ctx.Err() != nil, errors.Is(err, mirror.ErrBase):
			return err // the run's deadline, an interrupt or a bad address: not the mirror's doing
		case errors.Is(err, mirror.ErrNotFound):
			withheld = append(withheld, missing{base: m.Base})
			last = fmt.Errorf("%w: mirror %s does not serve %s %s", ErrFrozen, m.Base, r.u.Product, want.Version)
		case !grace && !errors.Is(err, mirror.ErrLocal):
			withheld = append(withheld, missing{base: m.Base, err: err})
			last = err
		default:
			last = err // within the grace, an unreachable mirror proves nothing yet
		}
		return nil
	}
	for _, m := range r.u.Mirrors {
		bundle, err := m.Bundle(ctx, r.u.Product, want.Version)
		if err != nil {
			if err := unread(m, err); err != nil {
				return err
			}
			continue
		}
		res, art, err := r.verify(ctx, bundle)
		switch {
		case errors.Is(err, verifier.ErrRebuildThreshold):
			// Not yet, unless the log holds enough attestations: then the
			// mirror left them out, and the next mirror may not.
			logged, lerr := r.chain.rebuildsLogged(ctx)
			if lerr != nil {
				return lerr
			}
			if logged == "" {
				r.out.NotYet = err
				continue
			}
			refused++
			last = r.refuse(fmt.Errorf("%w; %s", err, logged), "", bundle, m.Base, nil)
			continue
		case errors.Is(err, verifier.ErrTooEarly):
			r.out.NotYet = err // the log's own dates decide, which no mirror can strip
			continue
		case err != nil:
			var cfg *configError
			if errors.As(err, &cfg) {
				return err
			}
			refused++
			last = r.refuse(err, "", bundle, m.Base, nil)
			continue
		}
		staged, err := m.Artifact(ctx, art.Digest, art.Size, filepath.Dir(r.u.Path))
		if errors.Is(err, mirror.ErrDigest) || errors.Is(err, mirror.ErrTooLong) || errors.Is(err, mirror.ErrTooShort) {
			refused++
			last = r.refuse(fmt.Errorf("%w: %v", verifier.ErrArtifact, err), "", bundle, m.Base, &art)
			continue
		}
		if err != nil {
			if err := unread(m, err); err != nil {
				return err
			}
			continue
		}
		return r.install(m, bundle, res, art, staged)
	}
	switch {
	case r.out.NotYet != nil && refused == 0:
		return nil // the newest is not installable yet, and nobody lied
	case len(withheld) == len(r.u.Mirrors) && grace:
		r.out.NotYet = fmt.Errorf("%w: no mirror serves it yet; it is in the log since %s, and a freeze is reported after %s", ErrFrozen, r.firstSeen.UTC().Format(time.RFC3339), r.u.FreezeGrace)
		return nil
	case len(withheld) == len(r.u.Mirrors) && len(withheld) > 0:
		return r.refuse(fmt.Errorf("%w: the log holds %s %s (sequence %d, entry %d), and all %d mirrors withheld it", ErrFrozen, r.u.Product, want.Version, want.Sequence, want.Index, len(withheld)), "freeze", nil, "", nil)
	case refused+len(withheld) > 0:
		return fmt.Errorf("%w: the last one: %w", ErrRefused, last)
	case last != nil:
		return last
	}
	return errors.New("no mirror to update from")
}

// missing is a mirror that did not serve the newest release: err is nil
// when it has no such file, else why it could not be read.
type missing struct {
	base string
	err  error
}

func (m missing) why(product string, want *bundler.ReleaseEntry) error {
	if m.err == nil {
		return fmt.Errorf("%w: the log holds %s %s (entry %d) but the mirror does not serve it", ErrFrozen, product, want.Version, want.Index)
	}
	return fmt.Errorf("%w: the log holds %s %s (entry %d) but the mirror cannot be read: %v", ErrFrozen, product, want.Version, want.Index, m.err)
}

// configError is a mistake of the caller's, not of a mirror.
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

// verify checks a mirror's bundle for the newest release against the
// log's checkpoint, before any artifact is downloaded: the artifact must
// then hash to the digest verified here.
func (r *runner) verify(ctx context.Context, bundle []byte) (*verifier.Result, verifier.Artifact, error) {
	var art verifier.Artifact
	b, err := verifier.ParseBundle(bundle)
	if err != nil {
		return nil, art, err
	}
	env, err := manifest.ParseEnvelope(b.Release.Entry)
	if err != nil {
		return nil, art, fmt.Errorf("%w: release: %v", verifier.ErrFormat, err)
	}
	rel, err := manifest.ParseRelease(env.Payload)
	if err != nil {
		return nil, art, fmt.Errorf("%w: release: %v", verifier.ErrFormat, err)
	}
	if ref := policies.ReleaseRef(env.Payload); ref != r.out.Newest.Ref {
		return nil, art, r.otherRelease(rel)
	}
	// Before the verifier, whose "not yet" (rebuilds stripped too) would
	// hide a chain that leaves a rotation out.
	if err := r.chain.covers(b); err != nil {
		return nil, art, err
	}
	if art, err = r.pick(rel); err != nil {
		return nil, art, err
	}
	req := verifier.Request{
		Bundle: bundle, Product: r.u.Product, Artifacts: []verifier.Artifact{art},
		Pinned: r.u.Pinned, State: r.st, Now: r.now, Mode: verifier.ModeInstall,
	}
	if err := r.anchor(ctx, b, &req); err != nil {
		return nil, art, err
	}
	res, err := verifier.Verify(req)
	if err == nil {
		err = r.chain.holds(res.Policy)
	}
	return res, art, err
}

// ErrOtherRelease means a mirror served, under the newest release's name,
// a bundle of another version or sequence of the product (check
// "product").
var ErrOtherRelease = errors.New("the bundle is of another release")

// otherRelease is the refusal of a bundle of another release than the
// newest: another product, or another version or sequence of it.
func (r *runner) otherRelease(rel *manifest.ReleaseStatement) error {
	want, got := r.out.Newest, rel.Predicate
	sentinel := ErrOtherRelease
	if got.Product != r.u.Product {
		sentinel = verifier.ErrProduct
	}
	return fmt.Errorf("%w: asked for %s %s (sequence %d, entry %d), the mirror served %s %s (sequence %d)", sentinel,
		r.u.Product, want.Version, want.Sequence, want.Index, got.Product, got.Version, got.Sequence)
}

// anchor gives the verifier the log's checkpoint as a fresher head, with
// the proofs that lead to it, when the bundle's head is not newer.
func (r *runner) anchor(ctx context.Context, b *verifier.Bundle, req *verifier.Request) error {
	p, err := translog.ParseProof([]byte(b.Release.Proof))
	if err != nil {
		return fmt.Errorf("%w: release proof: %v", verifier.ErrFormat, err)
	}
	body, _, _ := bytes.Cut(p.Checkpoint, []byte("\n\n"))
	head, err := translog.ParseCheckpoint(append(body[:len(body):len(body)], '\n'))
	if err != nil {
		return fmt.Errorf("%w: release proof's checkpoint: %v", verifier.ErrFormat, err)
	}
	cp := r.out.Checkpoint
	if head.Size > cp.Size {
		// A bundle newer than the check: it stands on its own, proven to
		// extend the checkpoint just checked (now the one remembered).
		proof, err := r.u.Log.ConsistencyProof(ctx, cp.Checkpoint, head)
		if err != nil && !errors.Is(err, translog.ErrConsistency) {
			return err
		}
		req.Consistency = map[int64][]tlog.Hash{cp.Size: proof}
		return nil
	}
	proof, err := r.u.Log.ConsistencyProof(ctx, head, cp.Checkpoint)
	if err != nil && !errors.Is(err, translog.ErrConsistency) {
		return err
	}
	req.Fresher = &verifier.Fresher{Checkpoint: cp.Raw, Proof: proof}
	return nil
}

// pick is the release's artifact to install: the one named, else the one
// named after the product, else the only one.
func (r *runner) pick(rel *manifest.ReleaseStatement) (verifier.Artifact, error) {
	want := r.u.Artifact
	var names []string
	for _, s := range rel.Subject {
		names = append(names, s.Name)
		if s.Name == want || (want == "" && (s.Name == r.u.Product || len(rel.Subject) == 1)) {
			size, ok := s.Size()
			if !ok {
				return verifier.Artifact{}, fmt.Errorf("%w: artifact %s has no signed size", verifier.ErrArtifact, s.Name)
			}
			return verifier.Artifact{Name: s.Name, Digest: s.Digest, Size: size}, nil
		}
	}
	if want == "" {
		return verifier.Artifact{}, &configError{fmt.Sprintf("the release has artifacts %v and none is named %s: choose one with --artifact", names, r.u.Product)}
	}
	return verifier.Artifact{}, &configError{fmt.Sprintf("the release has no artifact %s (it has %v)", want, names)}
}

// newestFirst is the product's releases above floor, newest first.
func newestFirst(all []bundler.ReleaseEntry, product string, floor uint64) []bundler.ReleaseEntry {
	var out []bundler.ReleaseEntry
	for _, e := range all {
		if e.Product == product && e.Sequence > floor {
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b bundler.ReleaseEntry) int {
		if a.Sequence != b.Sequence {
			return int(min(max(int64(b.Sequence)-int64(a.Sequence), -1), 1))
		}
		return int(min(max(b.Index-a.Index, -1), 1))
	})
	return out
}
