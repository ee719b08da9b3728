package verifier

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"ssms.dev/ssms/internal/memlog"
	"ssms.dev/ssms/manifest"
)

// refused runs req and demands the error want, whose message holds text.
func refused(t *testing.T, req Request, want error, text string) error {
	t.Helper()
	res, err := Verify(req)
	if err == nil {
		t.Fatalf("accepted (%s %s); want %v", res.Release.Predicate.Product, res.Release.Predicate.Version, want)
	}
	if !errors.Is(err, want) {
		t.Fatalf("error %q; want %v", err, want)
	}
	if !strings.Contains(err.Error(), text) {
		t.Fatalf("error %q does not say %q", err, text)
	}
	return err
}

// TestAttackArtifacts: the file offered is not the file released.
func TestAttackArtifacts(t *testing.T) {
	s := newScenario(t)
	for name, tc := range map[string]struct {
		edit func(*Artifact)
		text string
	}{
		"tampered":          {func(a *Artifact) { a.Digest.SHA256 = strings.Repeat("0", 64) }, "the release says sha256:"},
		"longer than size":  {func(a *Artifact) { a.Size++ }, "the release signs 18"},
		"shorter than size": {func(a *Artifact) { a.Size = 0 }, "has 0 bytes"},
		"another name":      {func(a *Artifact) { a.Name = "app.exe" }, "app.exe is not an artifact of app 1.0.0"},
	} {
		t.Run(name, func(t *testing.T) {
			req := s.request(s.bundle(), nil)
			tc.edit(&req.Artifacts[0])
			refused(t, req, ErrArtifact, tc.text)
		})
	}
	req := s.request(s.bundle(), nil)
	req.Artifacts = nil
	refused(t, req, ErrArtifact, "no artifact given")
	req = s.request(s.bundle(), nil)
	req.Artifacts = append(req.Artifacts, req.Artifacts[0])
	refused(t, req, ErrArtifact, "given twice")
}

// withRelease is the scenario with another release envelope in place of
// the standard one, logged, and attested by r1 and r2.
func withRelease(t *testing.T, rel func(f *fixture) *manifest.Envelope) *scenario {
	f := newFixture(t)
	s := &scenario{fixture: f}
	f.add(f.polEnv)
	s.rel = rel(f)
	s.relIdx = f.add(s.rel)
	s.first = f.checkpoint(2, all3(t0))
	s.atts = []int64{f.add(f.attest(s.rel, "r1", nil)), f.add(f.attest(s.rel, "r2", nil))}
	s.head = f.checkpoint(f.log.Size(), all3(f.now.Add(-time.Minute)))
	return s
}

func TestAttackBelowThreshold(t *testing.T) {
	s := withRelease(t, func(f *fixture) *manifest.Envelope {
		return f.release(manifest.TypeRelease, "1.0.0", 1, f.artifact, "alice")
	})
	refused(t, s.request(s.bundle(), nil), ErrThreshold, "1 of 2 required release signatures")
}

func TestAttackOneKeyTwice(t *testing.T) {
	s := withRelease(t, func(f *fixture) *manifest.Envelope {
		env := f.release(manifest.TypeRelease, "1.0.0", 1, f.artifact, "alice")
		env.Signatures = append(env.Signatures, env.Signatures[0])
		return env
	})
	refused(t, s.request(s.bundle(), nil), ErrThreshold, "1 of 2 required")
}

// TestAttackKeyOfAnotherPolicy: mallory maintains another product under
// another policy; her signature counts for nothing here.
func TestAttackKeyOfAnotherPolicy(t *testing.T) {
	s := withRelease(t, func(f *fixture) *manifest.Envelope {
		return f.release(manifest.TypeRelease, "1.0.0", 1, f.artifact, "alice", "mallory")
	})
	refused(t, s.request(s.bundle(), nil), ErrThreshold, "1 of 2 required")
}

func TestAttackRollbackUnderItsThreshold(t *testing.T) {
	s := withRelease(t, func(f *fixture) *manifest.Envelope {
		return f.release(manifest.TypeRollback, "1.0.0", 1, f.artifact, "alice", "bob")
	})
	refused(t, s.request(s.bundle(), nil), ErrThreshold, "2 of 3 required rollback signatures")
}

func TestAttackBundleForAnotherProduct(t *testing.T) {
	s := newScenario(t)
	req := s.request(s.bundle(), nil)
	req.Product = "smp-server"
	refused(t, req, ErrProduct, "the bundle is for app, not smp-server")
}

// TestAttackReleaseNotInLog: the release's proof is the proof of another
// entry, or has a hash changed; or the release is not in the tree at all.
func TestAttackReleaseNotInLog(t *testing.T) {
	s := newScenario(t)
	b := s.bundle()
	b.Release.Proof = s.proof(2, s.head)
	refused(t, s.request(b, nil), ErrFormat, "rebuilds[0]: the same entry as release (index 2)")
	b = s.bundle()
	b.Release.Proof = flipHash(t, b.Release.Proof)
	refused(t, s.request(b, nil), ErrInclusion, "release: entry 1")

	other := s.release(manifest.TypeRelease, "1.0.1", 2, s.artifact, "alice", "bob")
	raw, _ := other.Marshal()
	b = s.bundle()
	b.Release.Entry = raw
	b.FirstSeen.Entry = raw
	refused(t, s.request(b, nil), ErrInclusion, "release")
}

// TestAttackAttestationNotLogged: an attestation signed by a rebuilder but
// never logged does not come with a valid proof.
func TestAttackAttestationNotLogged(t *testing.T) {
	s := newScenario(t)
	b := s.bundle()
	unlogged, _ := s.attest(s.rel, "r2", func(p *manifest.RebuildPredicate, _ []manifest.Subject) {
		p.Finished = manifest.FormatTime(t0.Add(time.Hour))
	}).Marshal()
	b.Rebuilds[1].Entry = unlogged
	refused(t, s.request(b, nil), ErrInclusion, "rebuilds[1]")
}

// TestAttackCheckpointOfAnotherLog: a log the policy does not list, or a
// listed origin signed by another key.
func TestAttackCheckpointOfAnotherLog(t *testing.T) {
	s := newScenario(t)
	other := memlog.New("log.test", [32]byte{9}) // the same origin, another key
	head := other.SignTree(4, s.log.Root(4), s.ws, all3(s.now.Add(-time.Minute)))
	b := s.bundle()
	b.Release.Proof = s.proof(s.relIdx, head)
	b.Policies[0].Proof = s.proof(0, head)
	for i, at := range s.atts {
		b.Rebuilds[i].Proof = s.proof(at, head)
	}
	refused(t, s.request(b, nil), ErrUnknownLog, "no signature by the log key")
}

func TestAttackMixedHeads(t *testing.T) {
	s := newScenario(t)
	b := s.bundle()
	b.Rebuilds[0].Proof = s.proof(s.atts[0], s.checkpoint(4, all3(s.now.Add(-2*time.Minute))))
	refused(t, s.request(b, nil), ErrMixedHeads, "rebuilds[0]")
}

// headWith is the bundle against a head of the same tree cosigned at times.
func (s *scenario) headWith(times map[string]time.Time) *Bundle {
	s.head = s.checkpoint(4, times)
	return s.bundle()
}

func TestAttackUnderQuorum(t *testing.T) {
	s := newScenario(t)
	b := s.headWith(map[string]time.Time{"w1.test": s.now.Add(-time.Minute)})
	refused(t, s.request(b, nil), ErrQuorum, "1 of 2 required cosignatures")
}

// TestAttackOneFreshOneStale: with quorum 2, one colluding witness keeps
// cosigning a frozen view; the second newest cosignature dates the view.
func TestAttackOneFreshOneStale(t *testing.T) {
	s := newScenario(t)
	b := s.headWith(map[string]time.Time{"w1.test": s.now.Add(-time.Minute), "w2.test": s.now.Add(-3 * time.Hour)})
	refused(t, s.request(b, nil), ErrStale, "1 of 2 required cosignatures are at most 1h0m0s old")
}

func TestAttackFrozenHead(t *testing.T) {
	s := newScenario(t)
	b := s.headWith(all3(s.now.Add(-2 * time.Hour)))
	refused(t, s.request(b, nil), ErrStale, "0 of 2")
}

func TestAttackTooEarly(t *testing.T) {
	s := newScenario(t)
	req := s.request(s.bundle(), nil)
	req.Now = t0.Add(23 * time.Hour)
	s.now = req.Now
	req.Bundle, _ = s.headWith(all3(req.Now.Add(-time.Minute))).Marshal()
	err := refused(t, req, ErrTooEarly, "installable from 2026-11-21T12:00:00Z")
	var te *TooEarlyError
	if !errors.As(err, &te) || !te.Until.Equal(t0.Add(24*time.Hour)) {
		t.Fatalf("TooEarlyError %+v", te)
	}
}

// TestAttackBackdatedFirstSeen: one colluding witness (below the quorum)
// backdates its cosignature of the first checkpoint; the release stays
// dated by the second witness.
func TestAttackBackdatedFirstSeen(t *testing.T) {
	s := newScenario(t)
	s.now = t0.Add(2 * time.Hour)
	s.first = s.checkpoint(2, map[string]time.Time{"w1.test": t0.Add(-30 * 24 * time.Hour), "w2.test": t0.Add(time.Hour)})
	b := s.headWith(all3(s.now.Add(-time.Minute)))
	refused(t, s.request(b, nil), ErrTooEarly, "visible in the log since 2026-11-20T13:00:00Z")
}

func TestAttackRebuilds(t *testing.T) {
	for name, tc := range map[string]struct {
		edit func(s *scenario, b *Bundle)
		text string
	}{
		"below threshold": {func(s *scenario, b *Bundle) { b.Rebuilds = b.Rebuilds[:1] }, "1 of 2 required"},
		"none":            {func(s *scenario, b *Bundle) { b.Rebuilds = []Logged{} }, "0 of 2 required"},
		"one rebuilder twice": {func(s *scenario, b *Bundle) {
			i := s.add(s.attest(s.rel, "r1", func(p *manifest.RebuildPredicate, _ []manifest.Subject) {
				p.Finished = manifest.FormatTime(t0.Add(time.Hour))
			}))
			s.head = s.checkpoint(s.log.Size(), all3(s.now.Add(-time.Minute)))
			*b = *s.bundle()
			b.Rebuilds = []Logged{s.logged(s.atts[0], s.head), s.logged(i, s.head)}
		}, "counted already"},
		"another digest": {func(s *scenario, b *Bundle) {
			s.atts[1] = s.add(s.attest(s.rel, "r2", func(_ *manifest.RebuildPredicate, sub []manifest.Subject) {
				sub[0].Digest.SHA256 = strings.Repeat("e", 64)
			}))
			s.head = s.checkpoint(s.log.Size(), all3(s.now.Add(-time.Minute)))
			*b = *s.bundle()
		}, "1 of 2 required"},
		"another release": {func(s *scenario, b *Bundle) {
			other := s.release(manifest.TypeRelease, "1.0.1", 2, s.artifact, "alice", "bob")
			s.atts[1] = s.add(s.attest(other, "r2", nil))
			s.head = s.checkpoint(s.log.Size(), all3(s.now.Add(-time.Minute)))
			*b = *s.bundle()
		}, "1 of 2 required"},
		"an outsider": {func(s *scenario, b *Bundle) {
			s.atts[1] = s.add(s.attest(s.rel, "r3", nil))
			s.head = s.checkpoint(s.log.Size(), all3(s.now.Add(-time.Minute)))
			*b = *s.bundle()
		}, "1 of 2 required"},
	} {
		t.Run(name, func(t *testing.T) {
			s := newScenario(t)
			b := s.bundle()
			tc.edit(s, b)
			refused(t, s.request(b, nil), ErrRebuildThreshold, tc.text)
		})
	}
}

// installedState is the state after installing the scenario's release.
func installedState(t *testing.T, s *scenario) *State {
	res, err := Verify(s.request(s.bundle(), nil))
	if err != nil {
		t.Fatal(err)
	}
	return res.Next
}

func TestAttackReplayInstalledRelease(t *testing.T) {
	s := newScenario(t)
	st := installedState(t, s)
	refused(t, s.request(s.bundle(), st), ErrRollback, "sequence 1; app 1.0.0 with sequence 1 is installed")
}

func TestAttackRollbackToLowerSequence(t *testing.T) {
	s := newScenario(t)
	st := installedState(t, s)
	st.Products["app"].Sequence = 5 // as if 1.4.0 (sequence 5) were installed
	refused(t, s.request(s.bundle(), st), ErrRollback, "only a higher sequence is an update")
}

// TestAttackRollbackToVersionNeverLogged: a rollback release (with its
// threshold) to a version the log never held.
func TestAttackRollbackToVersionNeverLogged(t *testing.T) {
	s := withRelease(t, func(f *fixture) *manifest.Envelope {
		return f.release(manifest.TypeRollback, "0.9.0", 3, f.artifact, "alice", "bob", "carol")
	})
	refused(t, s.request(s.bundle(), nil), ErrRollback, "does not show that version in the log")

	// rollbackOf names another version's release.
	s = withRelease(t, func(f *fixture) *manifest.Envelope {
		return f.release(manifest.TypeRollback, "0.9.0", 3, f.artifact, "alice", "bob", "carol")
	})
	old := s.add(s.release(manifest.TypeRelease, "0.8.0", 1, s.artifact, "alice", "bob"))
	s.head = s.checkpoint(s.log.Size(), all3(s.now.Add(-time.Minute)))
	b := s.bundle()
	l := s.logged(old, s.head)
	b.RollbackOf = &l
	refused(t, s.request(b, nil), ErrRollback, "not that version's release")
}

func TestRollbackToLoggedVersion(t *testing.T) {
	f := newFixture(t)
	s := &scenario{fixture: f}
	f.add(f.polEnv)
	old := f.add(f.release(manifest.TypeRelease, "0.9.0", 1, f.artifact, "alice", "bob"))
	s.rel = f.release(manifest.TypeRollback, "0.9.0", 3, f.artifact, "alice", "bob", "carol")
	s.relIdx = f.add(s.rel)
	s.first = f.checkpoint(3, all3(t0))
	s.atts = []int64{f.add(f.attest(s.rel, "r1", nil)), f.add(f.attest(s.rel, "r2", nil))}
	s.head = f.checkpoint(f.log.Size(), all3(f.now.Add(-time.Minute)))
	b := s.bundle()
	b.FirstSeen.Consistency = s.consistency(3, s.log.Size())
	l := s.logged(old, s.head)
	b.RollbackOf = &l
	if _, err := Verify(s.request(b, nil)); err != nil {
		t.Fatal(err)
	}
}

func TestAttackOversizedBundle(t *testing.T) {
	s := newScenario(t)
	req := s.request(s.bundle(), nil)
	req.Bundle = append(req.Bundle[:len(req.Bundle)-1], []byte(`,"x":"`+strings.Repeat("a", MaxBundleSize)+`"}`)...)
	refused(t, req, ErrFormat, "limit 1048576")
}

// TestAttackReencodedBundle: the same bundle with fields duplicated,
// reordered or in another case, or re-spaced, is refused: one bundle has
// one encoding.
func TestAttackReencodedBundle(t *testing.T) {
	s := newScenario(t)
	good, _ := s.bundle().Marshal()
	for name, edit := range map[string]func(string) string{
		"duplicated field": func(b string) string {
			return strings.Replace(b, `{"mediaType":"`+MediaType+`"`, `{"mediaType":"x","mediaType":"`+MediaType+`"`, 1)
		},
		"reordered fields": func(b string) string {
			i := strings.Index(b, `,"firstSeen"`)
			return `{"release"` + b[len(`{"mediaType":"`+MediaType+`","release"`):i] + `,"mediaType":"` + MediaType + `"` + b[i:]
		},
		"case variant": func(b string) string { return strings.Replace(b, `"release":`, `"Release":`, 1) },
		"white space":  func(b string) string { return strings.Replace(b, `,"policies"`, `, "policies"`, 1) },
		"escaped":      func(b string) string { return strings.Replace(b, `"application/`, `"\u0061pplication/`, 1) },
		"null list":    func(b string) string { return strings.Replace(b, `"consistency":[]}`, `"consistency":null}`, 1) },
	} {
		t.Run(name, func(t *testing.T) {
			req := s.request(s.bundle(), nil)
			req.Bundle = []byte(edit(string(good)))
			if bytes.Equal(req.Bundle, good) {
				t.Fatal("the edit changed nothing")
			}
			refused(t, req, ErrFormat, "bundle")
		})
	}
}

// TestAttackSmuggledKeys: keys never come from the bundle. A "policy
// version 2" made by mallory, naming herself, and a release she signed,
// are refused: the chain from the pinned policy does not reach them.
func TestAttackSmuggledKeys(t *testing.T) {
	f := newFixture(t)
	s := &scenario{fixture: f}
	f.add(f.polEnv)
	_, fake := f.policy(2, []string{"mallory", "dave", "r3"}, "mallory", "dave")
	f.add(fake)
	s.rel = f.release(manifest.TypeRelease, "1.0.0", 1, f.artifact, "mallory", "dave")
	s.relIdx = f.add(s.rel)
	s.first = f.checkpoint(3, all3(t0))
	s.atts = []int64{f.add(f.attest(s.rel, "r1", nil)), f.add(f.attest(s.rel, "r2", nil))}
	s.head = f.checkpoint(f.log.Size(), all3(f.now.Add(-time.Minute)))
	b := s.bundle()
	b.FirstSeen.Consistency = s.consistency(3, s.log.Size())
	b.Policies = append(b.Policies, s.logged(1, s.head))
	refused(t, s.request(b, nil), ErrPolicyChain, "policies[1]: policy version 2 (maintainers of version 1): 0 of 2")
}

func TestAttackCorruptState(t *testing.T) {
	s := newScenario(t)
	good, _ := installedState(t, s).Marshal()
	for name, data := range map[string][]byte{
		"truncated":     good[:len(good)/2],
		"empty":         {},
		"other version": bytes.Replace(good, []byte(`"version":1`), []byte(`"version":7`), 1),
		"unknown field": bytes.Replace(good, []byte(`{"version":1`), []byte(`{"x":1,"version":1`), 1),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseState(data)
			if !errors.Is(err, ErrStateCorrupt) || errors.Is(err, ErrFork) {
				t.Fatalf("ParseState = %v; want ErrStateCorrupt only", err)
			}
		})
	}
	// A remembered checkpoint that no longer opens is corruption, not a fork.
	st := installedState(t, s)
	st.Logs["log.test"] = "garbage"
	s.now = s.now.Add(time.Minute)
	refused(t, s.request(s.bundle(), st), ErrStateCorrupt, "the checkpoint remembered for log.test")
}

// TestAttackDuplicatesInBundle: one logged entry twice, under any role.
func TestAttackDuplicatesInBundle(t *testing.T) {
	s := newScenario(t)
	b := s.bundle()
	b.Rebuilds = append(b.Rebuilds, b.Rebuilds[0])
	refused(t, s.request(b, nil), ErrFormat, "rebuilds[2]: the same entry as rebuilds[0]")
	b = s.bundle()
	b.Rebuilds = append(b.Rebuilds, b.Release)
	refused(t, s.request(b, nil), ErrFormat, "the same entry as release")
	b = s.bundle()
	for len(b.Rebuilds) <= MaxRebuilds {
		b.Rebuilds = append(b.Rebuilds, b.Rebuilds[0])
	}
	refused(t, s.request(b, nil), ErrFormat, fmt.Sprintf("at most %d", MaxRebuilds))
}

// flipHash changes the first proof hash of a tlog-proof.
func flipHash(t *testing.T, proof string) string {
	lines := strings.Split(proof, "\n")
	if !strings.HasPrefix(lines[1], "index ") || lines[2] == "" {
		t.Fatalf("unexpected proof:\n%s", proof)
	}
	h := []byte(lines[2])
	if h[0] == 'A' {
		h[0] = 'B'
	} else {
		h[0] = 'A'
	}
	lines[2] = string(h)
	return strings.Join(lines, "\n")
}
