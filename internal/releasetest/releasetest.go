// Package releasetest makes verified releases for tests outside package
// verifier: a transparency log in memory (package memlog) with three
// witnesses, three maintainers, two rebuilders, a policy naming them, and
// bundles that verifier.Verify accepts, so that a test can install a real
// binary the way `ssms update` does and start it.
//
// Keys are random; nothing here is for production.
package releasetest

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"ssms.dev/ssms/internal/memlog"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/signer"
	"ssms.dev/ssms/verifier"
	"ssms.dev/ssms/verifier/statedir"
)

// World is a log, its witnesses and the keys of a project.
type World struct {
	Log       *memlog.Log
	Witnesses []*memlog.Witness
	// Policy is version 1, for the products given to New; PolicyFile is
	// its envelope, the file a deployment pins (--policy FILE).
	Policy     *policies.Policy
	PolicyFile []byte
	// Now is the time New was called: releases are first seen two days
	// before it, and every head is cosigned a minute before it.
	Now   time.Time
	keys  map[string]signer.Signer
	heads []int64 // sizes of the heads bundles were cut at
}

var maintainers = []string{"alice", "bob", "carol"}
var rebuilders = []string{"r1", "r2"}

// New makes a world whose policy covers products: 2 of 3 maintainers for
// a release, 2 of 2 rebuilders, 2 of 3 witnesses, a day in the log before
// an install, heads at most a day old.
func New(products ...string) (*World, error) {
	w := &World{keys: map[string]signer.Signer{}, Now: time.Now().UTC().Truncate(time.Second)}
	for _, n := range append(append([]string{}, maintainers...), rebuilders...) {
		priv, err := signer.Generate(signer.Ed25519)
		if err != nil {
			return nil, err
		}
		if w.keys[n], err = signer.NewKeySigner(priv); err != nil {
			return nil, err
		}
	}
	w.Log = memlog.New("log.test", seed())
	for _, n := range []string{"w1.test", "w2.test", "w3.test"} {
		w.Witnesses = append(w.Witnesses, memlog.NewWitness(n, seed()))
	}
	sort.Strings(products)
	p := &policies.Policy{
		Version: 1, Expires: manifest.FormatTime(w.Now.Add(365 * 24 * time.Hour)), Products: products,
		Maintainers:      policies.Maintainers{Thresholds: policies.Thresholds{Release: 2, Rollback: 3, Policy: 2}},
		Rebuilders:       policies.Rebuilders{Threshold: 2},
		Logs:             []policies.Log{{Origin: w.Log.Origin, VKey: w.Log.VKey}},
		Witnesses:        policies.Witnesses{Quorum: 2},
		MaxCheckpointAge: "24h0m0s", MinLogAge: "24h0m0s",
	}
	for _, n := range maintainers {
		p.Maintainers.Keys = append(p.Maintainers.Keys, policies.NewKey(n, w.keys[n].Public()))
	}
	for _, n := range rebuilders {
		p.Rebuilders.Keys = append(p.Rebuilders.Keys, policies.NewKey(n, w.keys[n].Public()))
	}
	for _, ws := range w.Witnesses {
		p.Witnesses.VKeys = append(p.Witnesses.VKeys, ws.VKey)
	}
	payload, err := p.Marshal()
	if err != nil {
		return nil, err
	}
	env, err := w.sign(&manifest.Envelope{PayloadType: policies.PayloadType, Payload: payload}, "alice", "bob")
	if err != nil {
		return nil, err
	}
	if w.Policy, err = policies.Parse(env); err != nil {
		return nil, err
	}
	if w.PolicyFile, err = env.Marshal(); err != nil {
		return nil, err
	}
	w.Log.Add(w.PolicyFile)
	return w, nil
}

func seed() (s [32]byte) {
	rand.Read(s[:])
	return s
}

// Pinned is the world's policy, pinned as a client pins it.
func (w *World) Pinned() (*policies.Policy, error) {
	env, err := manifest.ParseEnvelope(w.PolicyFile)
	if err != nil {
		return nil, err
	}
	return verifier.Pin(env)
}

func (w *World) sign(env *manifest.Envelope, names ...string) (*manifest.Envelope, error) {
	for _, n := range names {
		if err := env.Sign(context.Background(), w.keys[n]); err != nil {
			return nil, err
		}
	}
	return env, nil
}

// Release logs a release of product (signed by two maintainers) with the
// artifacts given (name to bytes) and two rebuild attestations, and
// returns its bundle against a new head.
func (w *World) Release(product, version string, seq uint64, artifacts map[string][]byte) ([]byte, error) {
	var subjects []manifest.Subject
	for name, b := range artifacts {
		subjects = append(subjects, manifest.SizedSubject(name, manifest.DigestBytes(b), int64(len(b))))
	}
	st, err := manifest.NewRelease(subjects, manifest.ReleasePredicate{
		Product: product, Version: version, Sequence: seq, Type: manifest.TypeRelease,
		Released: manifest.FormatTime(w.Now.Add(-72 * time.Hour)),
		Source:   manifest.Source{URI: "https://example.org/ssms.git", Commit: strings.Repeat("ab", 20)},
		Policy:   w.Policy.Digest(),
	})
	if err != nil {
		return nil, err
	}
	payload, err := manifest.MarshalRelease(st)
	if err != nil {
		return nil, err
	}
	rel, err := w.sign(&manifest.Envelope{PayloadType: manifest.PayloadType, Payload: payload}, "alice", "bob")
	if err != nil {
		return nil, err
	}
	relIdx, err := w.add(rel)
	if err != nil {
		return nil, err
	}
	first := w.Log.Checkpoint(w.Log.Size(), w.Witnesses, w.all(w.Now.Add(-48*time.Hour)))
	firstSize := w.Log.Size()
	var atts []int64
	for _, by := range rebuilders {
		_, payload, err := manifest.NewRebuild(st.Subject, manifest.RebuildPredicate{
			Release: policies.ReleaseRef(payload), Product: product, Version: version, Builder: by, Source: st.Predicate.Source,
			Build:   manifest.Recipe{Toolchain: "go1.26.8", Command: []string{"go", "build"}, Environment: map[string]string{}},
			Started: manifest.FormatTime(w.Now.Add(-47 * time.Hour)), Finished: manifest.FormatTime(w.Now.Add(-46 * time.Hour)),
			Outcome: manifest.OutcomeReproduced,
		})
		if err != nil {
			return nil, err
		}
		att, err := w.sign(&manifest.Envelope{PayloadType: manifest.PayloadType, Payload: payload}, by)
		if err != nil {
			return nil, err
		}
		i, err := w.add(att)
		if err != nil {
			return nil, err
		}
		atts = append(atts, i)
	}
	size := w.Log.Size()
	head := w.Log.Checkpoint(size, w.Witnesses, w.all(w.Now.Add(-time.Minute)))
	b := &verifier.Bundle{
		MediaType: verifier.MediaType,
		Release:   w.logged(relIdx, head),
		FirstSeen: verifier.FirstSeen{Entry: w.Log.Entry(relIdx), Proof: w.Log.Proof(relIdx, first),
			Consistency: memlog.Encode(w.Log.Consistency(firstSize, size))},
		Policies:    []verifier.Logged{w.logged(0, head)},
		Consistency: []verifier.Consistency{},
	}
	for _, i := range atts {
		b.Rebuilds = append(b.Rebuilds, w.logged(i, head))
	}
	// Clients that installed an earlier release remember its head.
	for _, old := range w.heads[max(0, len(w.heads)-8):] {
		b.Consistency = append(b.Consistency, verifier.Consistency{Size: old, Hashes: memlog.Encode(w.Log.Consistency(old, size))})
	}
	w.heads = append(w.heads, size)
	return b.Marshal()
}

func (w *World) add(env *manifest.Envelope) (int64, error) {
	b, err := env.Marshal()
	if err != nil {
		return 0, err
	}
	return w.Log.Add(b), nil
}

func (w *World) logged(i int64, head []byte) verifier.Logged {
	return verifier.Logged{Entry: w.Log.Entry(i), Proof: w.Log.Proof(i, head)}
}

func (w *World) all(t time.Time) map[string]time.Time {
	m := map[string]time.Time{}
	for _, ws := range w.Witnesses {
		m[ws.Name] = t
	}
	return m
}

// Verify checks bundle in install mode for product, with the artifact
// name and its bytes, against st (nil for a first install), at w.Now.
func (w *World) Verify(st *verifier.State, product string, bundle []byte, name string, binary []byte) (*verifier.Result, error) {
	pinned, err := w.Pinned()
	if err != nil {
		return nil, err
	}
	return verifier.Verify(verifier.Request{
		Bundle: bundle, Product: product, Pinned: pinned, State: st, Now: w.Now, Mode: verifier.ModeInstall,
		Artifacts: []verifier.Artifact{{Name: name, Digest: manifest.DigestBytes(binary), Size: int64(len(binary))}},
	})
}

// Record verifies bundle for the binary and records it in the state
// directory dir as `ssms update` does (the bundle first, then the state),
// without touching any binary: the caller puts it in place.
func (w *World) Record(dir, product string, bundle []byte, name string, binary []byte) error {
	d, err := statedir.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	st, err := d.Load()
	if err != nil {
		return err
	}
	res, err := w.Verify(st, product, bundle, name, binary)
	if err != nil {
		return fmt.Errorf("verifying %s %s: %w", product, name, err)
	}
	if _, err := d.SaveBundle(bundle); err != nil {
		return err
	}
	return d.Save(res.Next)
}

// InstallFile copies binary to path (mode 0755) and records it in dir.
func (w *World) InstallFile(path, dir, product string, bundle []byte, name string, binary []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, binary, 0o755); err != nil {
		return err
	}
	return w.Record(dir, product, bundle, name, binary)
}

// Build builds the Go package pkg (an import path) to out with extra
// build flags, for tests that run the real binary.
func Build(out, pkg string, flags ...string) error {
	args := append(append([]string{"build", "-o", out}, flags...), pkg)
	if b, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}
