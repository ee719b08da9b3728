package main

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"ssms.dev/ssms/internal/memlog"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/verifier"
)

// Files the bundle vectors share.
const (
	bundlePolicy   = "bundle/policy.json"
	bundleArtifact = "bundle/smp-server"
)

// bundleWorld is a deterministic log with two witnesses, the policy that
// names them, and the history every bundle vector is cut from: the policy
// (entry 0), smp-server 1.0.0 (entry 1), published under a checkpoint of
// size 2 two days before Now, and two rebuild attestations (entries 2, 3).
type bundleWorld struct {
	g        *generator
	log      *memlog.Log
	ws       []*memlog.Witness
	now      time.Time
	pol      *policies.Policy
	polEnv   *manifest.Envelope
	rel      *manifest.Envelope
	artifact []byte
}

func (g *generator) bundles() {
	now, _ := manifest.ParseTime(Now)
	w := &bundleWorld{g: g, now: now, artifact: []byte("smp-server binary")}
	w.log = memlog.New("log.example", sha256.Sum256([]byte("ssms test vector log")))
	for _, n := range []string{"w1.example", "w2.example"} {
		w.ws = append(w.ws, memlog.NewWitness(n, sha256.Sum256([]byte("ssms test vector witness "+n))))
	}
	for _, n := range []string{"rebuilder-1", "rebuilder-2"} {
		g.signers[n] = testSigner(n)
	}
	w.policy()
	g.files[bundleArtifact] = w.artifact
	g.files[bundlePolicy] = mustMarshal(w.polEnv)
	w.log.Add(mustMarshal(w.polEnv))
	w.rel = w.release("alice", "bob")
	w.log.Add(mustMarshal(w.rel))
	for _, r := range []string{"rebuilder-1", "rebuilder-2"} {
		w.log.Add(mustMarshal(w.attest(r)))
	}
	w.vectors()
}

func (w *bundleWorld) policy() {
	p := w.g.policy(1, 2, "alice", "bob", "carol")
	p.Products = []string{"smp-server"}
	p.Rebuilders = policies.Rebuilders{Threshold: 2}
	for _, n := range []string{"rebuilder-1", "rebuilder-2"} {
		p.Rebuilders.Keys = append(p.Rebuilders.Keys, policies.NewKey(n, w.g.signers[n].Public()))
	}
	p.Logs = []policies.Log{{Origin: w.log.Origin, VKey: w.log.VKey}}
	p.Witnesses = policies.Witnesses{VKeys: []string{w.ws[0].VKey, w.ws[1].VKey}, Quorum: 2}
	p.MaxCheckpointAge, p.MinLogAge = "1h0m0s", "24h0m0s"
	payload, err := p.Marshal()
	if err != nil {
		panic(err)
	}
	w.pol = p
	w.polEnv = w.g.sign(&manifest.Envelope{PayloadType: policies.PayloadType, Payload: payload}, "alice", "bob")
}

func (w *bundleWorld) release(signers ...string) *manifest.Envelope {
	d := sha256.Sum256(w.artifact)
	payload := w.g.release(manifest.TypeRelease, 1, w.pol, manifest.SizedSubject("smp-server", manifest.Digest{SHA256: hex.EncodeToString(d[:])}, int64(len(w.artifact))))
	return w.g.sign(&manifest.Envelope{PayloadType: manifest.PayloadType, Payload: payload}, signers...)
}

func (w *bundleWorld) attest(by string) *manifest.Envelope {
	st, err := manifest.ParseRelease(w.rel.Payload)
	if err != nil {
		panic(err)
	}
	_, payload, err := manifest.NewRebuild(st.Subject, manifest.RebuildPredicate{
		Release: policies.ReleaseRef(w.rel.Payload), Product: "smp-server", Version: "1.0.0", Builder: by, Source: st.Predicate.Source,
		Build:   manifest.Recipe{Toolchain: "go1.26.8", Command: []string{"go", "build", "-trimpath", "./cmd/smp-server"}, Environment: map[string]string{"CGO_ENABLED": "0"}},
		Started: "2026-11-20T10:00:00Z", Finished: "2026-11-20T10:02:00Z", Outcome: manifest.OutcomeReproduced,
	})
	if err != nil {
		panic(err)
	}
	return w.g.sign(&manifest.Envelope{PayloadType: manifest.PayloadType, Payload: payload}, by)
}

// at is every witness cosigning at now - ago.
func (w *bundleWorld) at(ago time.Duration) map[string]time.Time {
	return map[string]time.Time{"w1.example": w.now.Add(-ago), "w2.example": w.now.Add(-ago)}
}

// bundle is the bundle of the release against head, first seen under
// first (of size 2).
func (w *bundleWorld) bundle(head, first []byte) *verifier.Bundle {
	size := w.log.Size()
	b := &verifier.Bundle{
		MediaType: verifier.MediaType,
		Release:   w.logged(1, head),
		FirstSeen: verifier.FirstSeen{Entry: w.log.Entry(1), Proof: w.log.Proof(1, first), Consistency: memlog.Encode(w.log.Consistency(2, size))},
		Policies:  []verifier.Logged{w.logged(0, head)},
		Rebuilds:  []verifier.Logged{w.logged(2, head), w.logged(3, head)},
	}
	return b
}

func (w *bundleWorld) logged(i int64, head []byte) verifier.Logged {
	return verifier.Logged{Entry: w.log.Entry(i), Proof: w.log.Proof(i, head)}
}

func (w *bundleWorld) vectors() {
	first := w.log.Checkpoint(2, w.ws, w.at(48*time.Hour))
	head := w.log.Checkpoint(w.log.Size(), w.ws, w.at(10*time.Minute))
	add := func(file, errText, why string, b *verifier.Bundle) {
		raw, err := b.Marshal()
		if err != nil {
			panic(err)
		}
		w.addRaw(file, errText, why, raw)
	}
	add("bundle/valid/release.bundle", "", "2 of 3 maintainers, 2 of 2 witnesses 10 minutes ago, 2 of 2 rebuilders, in the log for 2 days", w.bundle(head, first))

	mixed := w.bundle(head, first)
	mixed.Rebuilds[0] = w.logged(2, w.log.Checkpoint(w.log.Size(), w.ws, w.at(20*time.Minute)))
	add("bundle/invalid/mixed-heads.bundle", "bundle mixes checkpoints", "one proof is against another checkpoint of the same tree", mixed)
	add("bundle/invalid/stale-head.bundle", "checkpoint is stale", "the newest cosignatures are 3 hours old; the policy allows 1",
		w.bundle(w.log.Checkpoint(w.log.Size(), w.ws, w.at(3*time.Hour)), first))
	add("bundle/invalid/under-quorum.bundle", "witness quorum not met", "one witness of the two the policy requires",
		w.bundle(w.log.Checkpoint(w.log.Size(), w.ws, map[string]time.Time{"w1.example": w.now.Add(-time.Minute)}), first))
	add("bundle/invalid/too-early.bundle", "release too recent", "first seen an hour ago; the policy's minLogAge is 24 hours",
		w.bundle(head, w.log.Checkpoint(2, w.ws, w.at(time.Hour))))
	one := w.bundle(head, first)
	one.Rebuilds = one.Rebuilds[:1]
	add("bundle/invalid/one-rebuild.bundle", "rebuild threshold not met", "one attestation of the two required", one)
	wrong := w.bundle(head, first)
	lines := strings.Split(wrong.Release.Proof, "\n")
	lines[2] = "A" + lines[2][1:] // the first proof hash, changed
	wrong.Release.Proof = strings.Join(lines, "\n")
	add("bundle/invalid/wrong-proof.bundle", "not proven to be in the log", "the first hash of the release's inclusion proof is changed", wrong)
	dup := w.bundle(head, first)
	dup.Rebuilds[1] = dup.Rebuilds[0]
	add("bundle/invalid/duplicate-entry.bundle", "the same entry as rebuilds[0]", "one attestation twice", dup)
	other := memlog.New(w.log.Origin, sha256.Sum256([]byte("another log key")))
	add("bundle/invalid/other-log-key.bundle", "checkpoint not signed by a log of the policy", "the head has the log's origin but another key's signature",
		w.bundle(other.SignTree(w.log.Size(), w.log.Root(w.log.Size()), w.ws, w.at(10*time.Minute)), first))
	good, _ := w.bundle(head, first).Marshal()
	w.addRaw("bundle/invalid/not-canonical.bundle", "malformed bundle", "a space after the first colon: one bundle has one encoding",
		[]byte(strings.Replace(string(good), `"mediaType":`, `"mediaType": `, 1)))
}

func (w *bundleWorld) addRaw(file, errText, why string, raw []byte) {
	w.g.add(Vector{File: file, Kind: "bundle", Policy: bundlePolicy, Artifact: bundleArtifact, Valid: errText == "", Error: errText, Why: why}, raw)
}

func mustMarshal(env *manifest.Envelope) []byte {
	b, err := env.Marshal()
	if err != nil {
		panic(err)
	}
	return b
}
