package main

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"ssms.dev/ssms/internal/strictjson"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/signer"
)

// Now is the time at which the vectors are judged.
const Now = "2026-11-22T12:00:00Z"

// Vector says what a verifier must conclude about one file.
type Vector struct {
	File   string `json:"file"`
	Kind   string `json:"kind"`             // "policy" (verified as a root), "release" or "bundle" (against Policy)
	Policy string `json:"policy,omitempty"` // for releases and bundles
	// Artifact is the file a bundle is verified for, named as the
	// release's subject of the same base name.
	Artifact string `json:"artifact,omitempty"`
	Valid    bool   `json:"valid"`
	Error    string `json:"error,omitempty"` // a substring of the error, for invalid vectors
	Why      string `json:"why"`
}

type generator struct {
	files   map[string][]byte
	index   []Vector
	signers map[string]signer.Signer
}

// testSigner derives an Ed25519 test key from its name.
func testSigner(name string) signer.Signer {
	seed := sha256.Sum256([]byte("ssms test vector key " + name))
	s, err := signer.NewKeySigner(ed25519.NewKeyFromSeed(seed[:]))
	if err != nil {
		panic(err)
	}
	return s
}

// Generate returns every vector file by its path under testdata/.
func Generate() (map[string][]byte, error) {
	g := &generator{files: map[string][]byte{}, signers: map[string]signer.Signer{}}
	for _, n := range []string{"alice", "bob", "carol", "mallory"} {
		g.signers[n] = testSigner(n)
		g.files["keys/"+n+".pub"] = g.signers[n].Public().PEM()
	}
	pol, err := g.policies()
	if err != nil {
		return nil, err
	}
	if err := g.releases(pol); err != nil {
		return nil, err
	}
	g.bundles()
	sort.Slice(g.index, func(i, j int) bool { return g.index[i].File < g.index[j].File })
	idx, err := json.MarshalIndent(g.index, "", "  ")
	if err != nil {
		return nil, err
	}
	g.files["index.json"] = append(idx, '\n')
	return g.files, nil
}

func (g *generator) policy(version uint64, threshold int, names ...string) *policies.Policy {
	p := &policies.Policy{
		Version: version, Expires: "2036-01-01T00:00:00Z", Products: []string{"smp-client", "smp-server"},
		Maintainers:      policies.Maintainers{Thresholds: policies.Thresholds{Release: threshold, Rollback: len(names), Policy: threshold}},
		Rebuilders:       policies.Rebuilders{Keys: []policies.Key{}},
		Logs:             []policies.Log{},
		Witnesses:        policies.Witnesses{VKeys: []string{}},
		MaxCheckpointAge: "168h0m0s", MinLogAge: "0s",
	}
	for _, n := range names {
		p.Maintainers.Keys = append(p.Maintainers.Keys, policies.NewKey(n, g.signers[n].Public()))
	}
	return p
}

func (g *generator) sign(env *manifest.Envelope, names ...string) *manifest.Envelope {
	for _, n := range names {
		if err := env.Sign(context.Background(), g.signers[n]); err != nil {
			panic(err)
		}
	}
	return env
}

func (g *generator) add(v Vector, data []byte) {
	g.files[v.File] = data
	g.index = append(g.index, v)
}

func (g *generator) addEnvelope(v Vector, env *manifest.Envelope) {
	b, err := env.Marshal()
	if err != nil {
		panic(err)
	}
	g.add(v, b)
}

func (g *generator) policies() (*policies.Policy, error) {
	p := g.policy(1, 2, "alice", "bob", "carol")
	payload, err := p.Marshal()
	if err != nil {
		return nil, err
	}
	env := func() *manifest.Envelope {
		return &manifest.Envelope{PayloadType: policies.PayloadType, Payload: payload}
	}
	g.addEnvelope(Vector{File: "policy/valid/root-2of3.json", Kind: "policy", Valid: true, Why: "2 of 3 maintainers signed their own policy"}, g.sign(env(), "alice", "bob"))
	g.addEnvelope(Vector{File: "policy/valid/root-3of3.json", Kind: "policy", Valid: true, Why: "every maintainer signed"}, g.sign(env(), "alice", "bob", "carol"))
	g.addEnvelope(Vector{File: "policy/invalid/unsigned.json", Kind: "policy", Error: "0 of 2 required policy signatures", Why: "no signature"}, env())
	g.addEnvelope(Vector{File: "policy/invalid/one-of-2.json", Kind: "policy", Error: "1 of 2 required policy signatures", Why: "k-1 signatures"}, g.sign(env(), "alice"))
	g.addEnvelope(Vector{File: "policy/invalid/outsider.json", Kind: "policy", Error: "1 of 2 required policy signatures", Why: "the second signer is not a maintainer"}, g.sign(env(), "alice", "mallory"))
	dup := g.sign(env(), "alice")
	dup.Signatures = append(dup.Signatures, manifest.Signature{Sig: dup.Signatures[0].Sig})
	g.addEnvelope(Vector{File: "policy/invalid/same-key-twice.json", Kind: "policy", Error: "1 of 2 required policy signatures", Why: "one key's signature twice counts once"}, dup)
	expired := g.policy(1, 1, "alice")
	expired.Expires = "2026-01-01T00:00:00Z"
	ep, _ := expired.Marshal()
	g.addEnvelope(Vector{File: "policy/invalid/expired.json", Kind: "policy", Error: "policy expired", Why: "expired before Now"},
		g.sign(&manifest.Envelope{PayloadType: policies.PayloadType, Payload: ep}, "alice"))
	wrongType := g.sign(&manifest.Envelope{PayloadType: manifest.PayloadType, Payload: payload}, "alice", "bob")
	g.addEnvelope(Vector{File: "policy/invalid/wrong-payload-type.json", Kind: "policy", Error: "wrong payload type", Why: "a policy must say it is one"}, wrongType)
	loose := strings.Replace(string(payload), `"version":1`, `"version": 1`, 1)
	g.addEnvelope(Vector{File: "policy/invalid/not-canonical.json", Kind: "policy", Error: "canonical form", Why: "white space inside the payload"},
		g.sign(&manifest.Envelope{PayloadType: policies.PayloadType, Payload: []byte(loose)}, "alice", "bob"))
	g.attackPolicies()
	return p, nil
}

// attackPolicies are policies that each break one rule of the policies
// package (issue 12). Their payloads are made with strictjson.Marshal, which
// does not check the rules, and carry every signature they need otherwise.
func (g *generator) attackPolicies() {
	add := func(file, errText, why string, p *policies.Policy, signers ...string) {
		payload, err := strictjson.Marshal(p)
		if err != nil {
			panic(err)
		}
		g.addEnvelope(Vector{File: file, Kind: "policy", Error: errText, Why: why},
			g.sign(&manifest.Envelope{PayloadType: policies.PayloadType, Payload: payload}, signers...))
	}
	low := g.policy(1, 3, "alice", "bob", "carol")
	low.Maintainers.Thresholds = policies.Thresholds{Release: 3, Rollback: 1, Policy: 1}
	add("policy/invalid/policy-threshold-below-release.json", "maintainers.thresholds.rollback: 1 is below the release threshold 3",
		"one key could rotate the policy to itself", low, "alice", "bob", "carol")
	twice := g.policy(1, 2, "alice", "bob", "carol")
	twice.Maintainers.Keys = append(twice.Maintainers.Keys, policies.NewKey("alice-again", g.signers["alice"].Public()))
	add("policy/invalid/same-key-two-names.json", "already in the policy as maintainers.keys[0]",
		"one key under two names would count twice", twice, "alice", "bob", "carol")
	witness := g.policy(1, 2, "alice", "bob", "carol")
	witness.Witnesses.VKeys = []string{vkey("w.example", 0x04, g.signers["bob"].Public().Crypto().(ed25519.PublicKey))}
	add("policy/invalid/maintainer-as-witness.json", "already in the policy as maintainers.keys[1]",
		"a key in two roles, compared by key material across encodings", witness, "alice", "bob", "carol")
	weak := g.policy(1, 2, "alice", "bob", "carol")
	identity := make([]byte, 32)
	identity[0] = 1
	der, _ := x509.MarshalPKIXPublicKey(ed25519.PublicKey(identity))
	sum := sha256.Sum256(der)
	weak.Maintainers.Keys = append(weak.Maintainers.Keys, policies.Key{Name: "identity", ID: hex.EncodeToString(sum[:]),
		PublicKey: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))})
	add("policy/invalid/small-order-key.json", "small order",
		"the identity point admits one signature valid for every message", weak, "alice", "bob", "carol")
}

// vkey encodes a C2SP signed-note verifier key.
func vkey(name string, alg byte, pub ed25519.PublicKey) string {
	key := append([]byte{alg}, pub...)
	h := sha256.Sum256(append([]byte(name+"\n"), key...))
	return fmt.Sprintf("%s+%x+%s", name, h[:4], base64.StdEncoding.EncodeToString(key))
}

func (g *generator) release(typ string, seq uint64, p *policies.Policy, subjects ...manifest.Subject) []byte {
	if subjects == nil {
		subjects = []manifest.Subject{{Name: "smp-server", Digest: manifest.Digest{SHA256: fmt.Sprintf("%x", sha256.Sum256([]byte("smp-server binary")))}}}
	}
	st, err := manifest.NewRelease(subjects, manifest.ReleasePredicate{
		Product: "smp-server", Version: "1.0.0", Sequence: seq, Type: typ, Released: "2026-11-20T09:00:00Z",
		Source: manifest.Source{URI: "https://example.org/ssms.git", Commit: strings.Repeat("5e", 20)}, Policy: p.Digest(),
	})
	if err != nil {
		panic(err)
	}
	b, err := manifest.MarshalRelease(st)
	if err != nil {
		panic(err)
	}
	return b
}

func (g *generator) releases(p *policies.Policy) error {
	const pol = "policy/valid/root-2of3.json"
	payload := g.release(manifest.TypeRelease, 1, p)
	env := func() *manifest.Envelope {
		return &manifest.Envelope{PayloadType: manifest.PayloadType, Payload: payload}
	}
	rel := func(file, errText, why string, e *manifest.Envelope) {
		g.addEnvelope(Vector{File: file, Kind: "release", Policy: pol, Valid: errText == "", Error: errText, Why: why}, e)
	}
	rel("release/valid/2of3.json", "", "two maintainers signed", g.sign(env(), "alice", "carol"))
	rel("release/valid/with-outsider.json", "", "an outsider's extra signature is ignored", g.sign(env(), "mallory", "alice", "bob"))
	noIDs := g.sign(env(), "alice", "bob")
	for i := range noIDs.Signatures {
		noIDs.Signatures[i].KeyID = ""
	}
	rel("release/valid/no-key-ids.json", "", "key IDs are optional hints", noIDs)
	artifact := []byte("smp-server binary")
	sized := &manifest.Envelope{PayloadType: manifest.PayloadType, Payload: g.release(manifest.TypeRelease, 1, p,
		manifest.SizedSubject("smp-server", manifest.Digest{SHA256: fmt.Sprintf("%x", sha256.Sum256(artifact))}, int64(len(artifact))))}
	rel("release/valid/with-sizes.json", "", "each artifact's size is signed (subject annotations.size); the artifact is the 17 bytes \"smp-server binary\"", g.sign(sized, "alice", "bob"))
	rel("release/invalid/one-of-2.json", "1 of 2 required release signatures", "k-1 signatures", g.sign(env(), "bob"))
	dup := g.sign(env(), "bob")
	dup.Signatures = append(dup.Signatures, manifest.Signature{Sig: dup.Signatures[0].Sig})
	rel("release/invalid/same-key-twice.json", "1 of 2 required release signatures", "one key's signature twice counts once", dup)
	forged := g.sign(env(), "alice", "mallory")
	forged.Signatures[1].KeyID = g.signers["bob"].Public().ID()
	rel("release/invalid/forged-key-id.json", "1 of 2 required release signatures", "mallory's signature claims bob's key ID", forged)
	tampered := g.sign(env(), "alice", "bob")
	tampered.Payload = []byte(strings.Replace(string(payload), `"version":"1.0.0"`, `"version":"1.0.1"`, 1))
	rel("release/invalid/tampered-payload.json", "0 of 2 required release signatures", "the payload changed after signing", tampered)
	rollback := &manifest.Envelope{PayloadType: manifest.PayloadType, Payload: g.release(manifest.TypeRollback, 2, p)}
	rel("release/invalid/rollback-2of3.json", "2 of 3 required rollback signatures", "a rollback needs every maintainer here", g.sign(rollback, "alice", "bob"))
	rollback = &manifest.Envelope{PayloadType: manifest.PayloadType, Payload: g.release(manifest.TypeRollback, 2, p)}
	rel("release/valid/rollback-3of3.json", "", "a rollback signed by all three", g.sign(rollback, "alice", "bob", "carol"))
	good, _ := g.sign(env(), "alice", "bob").Marshal()
	g.add(Vector{File: "release/invalid/truncated.json", Kind: "release", Policy: pol, Error: "truncated JSON", Why: "the file was cut short"}, good[:len(good)/2])
	extra := strings.Replace(string(good), `"payloadType"`, `"extra": 1, "payloadType"`, 1)
	g.add(Vector{File: "release/invalid/unknown-field.json", Kind: "release", Policy: pol, Error: `unknown field "extra"`, Why: "the envelope has a field DSSE does not"}, []byte(extra))
	draft := base64.StdEncoding.EncodeToString([]byte(`{"draft":true}`))
	twoFaced := strings.Replace(string(good), `"payload"`, `"payload": "`+draft+`", "PAYLOAD"`, 1)
	g.add(Vector{File: "release/invalid/two-faced.json", Kind: "release", Policy: pol, Error: `unknown field "PAYLOAD"`,
		Why: "payload (a draft) and PAYLOAD (the signed release): encoding/json matches keys case-insensitively, other DSSE readers do not"}, []byte(twoFaced))
	return nil
}

// Write puts files under dir, replacing what is there.
func Write(dir string, files map[string][]byte) error {
	for name, data := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
