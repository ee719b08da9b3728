// Package updatetest publishes releases of one product the way a project
// does, for tests of the update commands: a real log over HTTP
// (internal/logfixture), releases signed by two maintainers and rebuilt
// by two rebuilders, and a mirror directory filled with "ssms mirror
// add"'s code, so that an updater started anywhere (another process
// included) can install them.
package updatetest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"ssms.dev/ssms/internal/logfixture"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/updater/mirror"
	"ssms.dev/ssms/verifier/bundler"
)

// Project is a product's log and one mirror of its releases.
type Project struct {
	*logfixture.Fixture
	Mirror     string // the mirror directory
	PolicyFile string // the policy envelope a client pins (--policy FILE)
	Policy     []byte // its bytes
}

// New starts the log of product's project (it stops with the test) and
// makes an empty mirror.
func New(t testing.TB, product string) *Project {
	f := logfixture.New(t, product)
	f.Add(f.PolEnv)
	dir := t.TempDir()
	p := &Project{Fixture: f, Mirror: filepath.Join(dir, "mirror"), PolicyFile: filepath.Join(dir, "policy.json")}
	var err error
	if p.Policy, err = f.PolEnv.Marshal(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p.PolicyFile, p.Policy, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Publish logs release version (sequence seq) whose one artifact, named
// after the product, is artifact; signs it by alice and bob and rebuilds
// it by r1 and r2; and adds its bundle and artifact to the mirror. It
// returns the bundle.
func (p *Project) Publish(version string, seq uint64, artifact []byte) []byte {
	t := p.T
	rel := p.Release(manifest.TypeRelease, version, seq, string(artifact), "alice", "bob")
	first := p.Add(rel)
	p.Add(p.Attest(rel, "r1"))
	p.Add(p.Attest(rel, "r2"))
	bd := &bundler.Bundler{Log: p.Client, Pinned: p.PolEnv, IndexDir: t.TempDir()}
	b, err := bd.Make(context.Background(), bundler.Request{Product: p.Product, Version: version, First: first})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	art := filepath.Join(t.TempDir(), p.Product)
	if err := os.WriteFile(art, artifact, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := mirror.Add(p.Mirror, raw, map[string]string{p.Product: art}); err != nil {
		t.Fatal(err)
	}
	return raw
}
