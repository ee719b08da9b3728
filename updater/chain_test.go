package updater

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/translog"
	"ssms.dev/ssms/updater/mirror"
	"ssms.dev/ssms/verifier"
	"ssms.dev/ssms/verifier/bundler"
)

// publishBy logs version signed by signers, rebuilt by r1 and r2, bundles
// it with the logged policy chain and adds it to the mirrors given (all
// if none).
func (p *project) publishBy(version string, seq uint64, content string, signers []string, to ...int) []byte {
	p.t.Helper()
	rel := p.Release(manifest.TypeRelease, version, seq, content, signers...)
	first := p.Add(rel)
	p.Add(p.Attest(rel, "r1"))
	p.Add(p.Attest(rel, "r2"))
	bd := &bundler.Bundler{Log: p.Client, Pinned: p.PolEnv, IndexDir: p.t.TempDir()}
	b, err := bd.Make(context.Background(), bundler.Request{Product: "app", Version: version, First: first})
	if err != nil {
		p.t.Fatal(err)
	}
	raw, err := b.Marshal()
	if err != nil {
		p.t.Fatal(err)
	}
	p.serve(raw, content, to...)
	return raw
}

// serve puts a bundle and its artifact on the mirrors given (all if none).
func (p *project) serve(raw []byte, content string, to ...int) {
	p.t.Helper()
	if len(to) == 0 {
		for i := range p.mirrors {
			to = append(to, i)
		}
	}
	art := filepath.Join(p.t.TempDir(), "app")
	os.WriteFile(art, []byte(content), 0o644)
	for _, i := range to {
		if _, err := mirror.Add(p.mirrors[i], raw, map[string]string{"app": art}); err != nil {
			p.t.Fatal(err)
		}
	}
}

// withoutRotation is raw with its policy chain cut to the first policy,
// as a mirror that leaves a rotation out serves it; strip also removes
// its rebuild attestations.
func withoutRotation(t *testing.T, raw []byte, strip bool) []byte {
	b, err := verifier.ParseBundle(raw)
	if err != nil {
		t.Fatal(err)
	}
	b.Policies = b.Policies[:1]
	if strip {
		b.Rebuilds = nil
	}
	out, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func replaceBundle(t *testing.T, dir, version string, raw []byte) {
	path, _ := mirror.BundlePath("app", version)
	if err := os.WriteFile(filepath.Join(dir, path), raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

func installed10(t *testing.T, p *project) {
	p.publish("1.0.0", 1, "app 1.0.0")
	if _, err := p.updater().Update(context.Background()); err != nil || p.installed() != "app 1.0.0" {
		t.Fatalf("first install: %v", err)
	}
}

// TestAttackReleaseAfterRotation: the maintainers rotate (dave joins) and
// release 1.1.0 signed by alice and dave, which only version 2 approves.
// Judged under the policy of the last install it was never newest: "up
// to date" for ever (red team H2).
func TestAttackReleaseAfterRotation(t *testing.T) {
	p := newProject(t, 1)
	installed10(t, p)
	_, pol2 := p.Policy(2, []string{"alice", "bob", "dave"}, "alice", "bob")
	p.Add(pol2)
	p.publishBy("1.1.0", 2, "app 1.1.0", []string{"alice", "dave"})
	st, err := p.updater().Update(context.Background())
	if err != nil || st.Newest == nil || st.Newest.Version != "1.1.0" || p.installed() != "app 1.1.0" {
		t.Fatalf("after a rotation: newest %+v, err %v, installed %q", st.Newest, err, p.installed())
	}
	if st.Installed.Policy.Version != 2 {
		t.Fatalf("installed under policy version %d", st.Installed.Policy.Version)
	}
}

// rotateOut logs version 2, which removes alice's and bob's (leaked)
// keys: carol and dave maintain, r3 joins.
func rotateOut(p *project) {
	_, pol2 := p.Policy(2, []string{"carol", "dave", "r3"}, "alice", "bob", "carol", "dave")
	p.Add(pol2)
}

// TestAttackRotatedOutKeysBlockTheFix: after alice's and bob's keys are
// rotated out, the thieves log a "release" signed by them with a huge
// sequence. It is no release: the fix signed by carol and dave is
// installed, and nobody is accused of withholding the thieves' entry.
func TestAttackRotatedOutKeysBlockTheFix(t *testing.T) {
	p := newProject(t, 1)
	installed10(t, p)
	rotateOut(p)
	p.publishBy("1.1.0", 2, "app 1.1.0", []string{"carol", "dave"})
	p.Add(p.Release(manifest.TypeRelease, "6.6.6", 1<<40, "evil", "alice", "bob"))
	st, err := p.updater().Update(context.Background())
	if err != nil || p.installed() != "app 1.1.0" || len(st.Reports) != 0 {
		t.Fatalf("newest %+v, err %v, installed %q, reports %v", st.Newest, err, p.installed(), st.Reports)
	}
}

// TestAttackRotatedOutKeysInstallWithRotationOmitted: after the rotation,
// the thieves log a release of an old, vulnerable build, which the
// rebuilders reproduce and attest, and a mirror serves it with a bundle
// whose policies stop before the rotation (red team H1). It is no
// release: not newest, never tried, nothing installed, nobody accused.
func TestAttackRotatedOutKeysInstallWithRotationOmitted(t *testing.T) {
	p := newProject(t, 1)
	installed10(t, p)
	rotateOut(p)
	evil := p.Release(manifest.TypeRelease, "6.6.6", 1<<40, "app 0.1 (vulnerable)", "alice", "bob")
	a1, a2 := p.Attest(evil, "r1"), p.Attest(evil, "r2")
	p.Add(evil)
	p.Add(a1)
	p.Add(a2)
	head := p.Store.Checkpoint()
	at := func(env *manifest.Envelope) verifier.Logged {
		raw, _ := env.Marshal()
		i, ok, err := p.Store.Lookup(raw)
		if err != nil || !ok {
			t.Fatalf("lookup: %v %v", ok, err)
		}
		hs, err := p.Store.InclusionProof(i, head.Size)
		if err != nil {
			t.Fatal(err)
		}
		pr := &translog.Proof{Index: i, Hashes: hs, Checkpoint: head.Raw}
		return verifier.Logged{Entry: raw, Proof: string(pr.Marshal())}
	}
	rel := at(evil)
	b := &verifier.Bundle{MediaType: verifier.MediaType, Release: rel,
		FirstSeen:   verifier.FirstSeen{Entry: rel.Entry, Proof: rel.Proof, Consistency: []string{}},
		Policies:    []verifier.Logged{at(p.PolEnv)},
		Rebuilds:    []verifier.Logged{at(a1), at(a2)},
		Consistency: []verifier.Consistency{}}
	raw, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	p.serve(raw, "app 0.1 (vulnerable)")
	st, err := p.updater().Update(context.Background())
	if p.installed() != "app 1.0.0" || st.Newest != nil || err != nil || len(st.Reports) != 0 || len(releaseWarnings(st)) != 0 {
		t.Fatalf("newest %+v, err %v, installed %q, reports %v, warnings %q", st.Newest, err, p.installed(), st.Reports, st.Warnings)
	}
}

// TestAttackBundleLeavesRotationOut: the newest release is approved by
// both policies, and a mirror serves its bundle with the chain cut before
// the rotation (and, the second time, its rebuilds stripped too, so that
// the verifier would call it "not yet"). Refused as "policy", reported;
// the next mirror's full bundle is installed.
func TestAttackBundleLeavesRotationOut(t *testing.T) {
	for _, strip := range []bool{false, true} {
		t.Run("strip="+strconv.FormatBool(strip), func(t *testing.T) {
			p := newProject(t, 2)
			installed10(t, p)
			_, pol2 := p.Policy(2, []string{"alice", "bob", "dave"}, "alice", "bob")
			p.Add(pol2)
			raw := p.publishBy("1.1.0", 2, "app 1.1.0", []string{"alice", "bob"})
			replaceBundle(t, p.mirrors[0], "1.1.0", withoutRotation(t, raw, strip))
			_, err := p.updater(p.mirrors[0]).Update(context.Background())
			var refused *RefusedError
			if !errors.As(err, &refused) || refused.Check != "policy" || !strings.Contains(err.Error(), "leaves a rotation out") {
				t.Fatalf("a chain without the rotation: %v", err)
			}
			checkReport(t, refused.Report, "policy")
			if p.installed() != "app 1.0.0" {
				t.Fatal("installed")
			}
			st, err := p.updater().Update(context.Background())
			if err != nil || p.installed() != "app 1.1.0" || st.Mirror != p.mirrors[1] {
				t.Fatalf("from the next mirror: %v, %q from %s", err, p.installed(), st.Mirror)
			}
		})
	}
}

// TestAttackJunkPolicyIgnored: one leaked key logs a bogus version 2 (it
// names only the thief). VerifyNext refuses it: releases are still judged
// under version 1, and bundles ending there are accepted.
func TestAttackJunkPolicyIgnored(t *testing.T) {
	p := newProject(t, 1)
	installed10(t, p)
	_, junk := p.Policy(2, []string{"carol", "dave"}, "carol")
	p.Add(junk)
	p.publishBy("1.1.0", 2, "app 1.1.0", []string{"alice", "bob"})
	if _, err := p.updater().Update(context.Background()); err != nil || p.installed() != "app 1.1.0" {
		t.Fatalf("a junk policy in the log: %v, installed %q", err, p.installed())
	}
}

// TestPolicyAfterReleaseStrandsIt: 1.1.0 is logged under version 1, then
// version 2 removes bob, one of its two signers. 1.1.0 is not installable
// (the verifier judges under the newest policy): the run says so in a
// warning, and accuses no mirror.
func TestPolicyAfterReleaseStrandsIt(t *testing.T) {
	p := newProject(t, 1)
	installed10(t, p)
	raw := p.publishBy("1.1.0", 2, "app 1.1.0", []string{"alice", "bob"})
	_, pol2 := p.Policy(2, []string{"alice", "carol", "dave"}, "alice", "bob", "carol")
	p.Add(pol2)
	for run := 0; run < 2; run++ { // the second from the cache
		st, err := p.updater().Update(context.Background())
		if err != nil || st.Newest != nil || len(st.Reports) != 0 || p.installed() != "app 1.0.0" {
			t.Fatalf("run %d: newest %+v, err %v, reports %v", run, st.Newest, err, st.Reports)
		}
		if w := releaseWarnings(st); len(w) != 1 || !strings.Contains(w[0], "1.1.0") || !strings.Contains(w[0], "sign it again under policy version 2") {
			t.Fatalf("run %d: warnings %q", run, st.Warnings)
		}
	}
	// Signed again (a new entry of the same payload, with more
	// signatures), it is installable.
	b, _ := verifier.ParseBundle(raw)
	rel, err := manifest.ParseEnvelope(b.Release.Entry)
	if err != nil {
		t.Fatal(err)
	}
	p.Sign(rel, "carol")
	bd := &bundler.Bundler{Log: p.Client, Pinned: p.PolEnv, IndexDir: t.TempDir()}
	again, err := bd.Make(context.Background(), bundler.Request{Product: "app", Version: "1.1.0", First: p.Add(rel)})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = again.Marshal()
	replaceBundle(t, p.mirrors[0], "1.1.0", raw)
	if st, err := p.updater().Update(context.Background()); err != nil || p.installed() != "app 1.1.0" {
		t.Fatalf("signed again: %v, installed %q, newest %+v, not yet %v, warnings %q", err, p.installed(), st.Newest, st.NotYet, st.Warnings)
	}
}

// TestAttackStrippedRebuilds: a mirror serves the genuine bundle without
// its rebuild attestations, which the log holds. That is no "not yet" but
// a refusal (red team M1), and the next mirror is tried.
func TestAttackStrippedRebuilds(t *testing.T) {
	p := newProject(t, 2)
	installed10(t, p)
	raw := p.publish("1.1.0", 2, "app 1.1.0")
	b, _ := verifier.ParseBundle(raw)
	b.Rebuilds = nil
	stripped, _ := b.Marshal()
	replaceBundle(t, p.mirrors[0], "1.1.0", stripped)
	st, err := p.updater(p.mirrors[0]).Update(context.Background())
	var refused *RefusedError
	if !errors.As(err, &refused) || refused.Check != "rebuilds" || st.NotYet != nil || !strings.Contains(err.Error(), "left them out") {
		t.Fatalf("stripped rebuilds: %v (not yet: %v)", err, st.NotYet)
	}
	checkReport(t, refused.Report, "rebuilds")
	if st, err := p.updater().Update(context.Background()); err != nil || p.installed() != "app 1.1.0" || st.Mirror != p.mirrors[1] {
		t.Fatalf("from the next mirror: %v, %q", err, p.installed())
	}
}

// TestRebuildsNotYetLogged: with one attestation of two logged, the
// release is not installable yet, and no mirror is accused.
func TestRebuildsNotYetLogged(t *testing.T) {
	p := newProject(t, 1)
	installed10(t, p)
	rel := p.Release(manifest.TypeRelease, "1.1.0", 2, "app 1.1.0", "alice", "bob")
	first := p.Add(rel)
	p.Add(p.Attest(rel, "r1"))
	bd := &bundler.Bundler{Log: p.Client, Pinned: p.PolEnv, IndexDir: t.TempDir()}
	b, err := bd.Make(context.Background(), bundler.Request{Product: "app", Version: "1.1.0", First: first})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := b.Marshal()
	p.serve(raw, "app 1.1.0")
	st, err := p.updater().Update(context.Background())
	if err != nil || !errors.Is(st.NotYet, verifier.ErrRebuildThreshold) || len(st.Reports) != 0 {
		t.Fatalf("err %v, not yet %v, reports %v", err, st.NotYet, st.Reports)
	}
}

// TestAttackBelowThresholdSpamCostsNothing: 300 below-threshold
// "releases" above the installed one are judged once; a run over an
// unchanged log then reads no entry (red team L3).
func TestAttackBelowThresholdSpamCostsNothing(t *testing.T) {
	p := newProject(t, 1)
	installed10(t, p)
	for i := range 300 {
		p.Add(p.Release(manifest.TypeRelease, "9.9."+strconv.Itoa(i), uint64(1000+i), "spam", "carol"))
	}
	var entries, all atomic.Int64
	p.OnRequest = func(r *http.Request) {
		all.Add(1)
		if strings.Contains(r.URL.Path, "/tile/entries/") {
			entries.Add(1)
		}
	}
	if st, err := p.updater().Update(context.Background()); err != nil || st.Newest != nil {
		t.Fatalf("first run: %v, newest %+v", err, st.Newest)
	}
	entries.Store(0)
	all.Store(0)
	if st, err := p.updater().Update(context.Background()); err != nil || st.Newest != nil {
		t.Fatalf("second run: %v, newest %+v", err, st.Newest)
	}
	if entries.Load() != 0 || all.Load() > 10 {
		t.Fatalf("a run over an unchanged log: %d entry reads, %d requests", entries.Load(), all.Load())
	}
	// A damaged cache is made again, not an error.
	os.WriteFile(filepath.Join(p.state, "index", judgedFile), []byte("{"), 0o644)
	if _, err := p.updater().Update(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestUnknownProduct: a product the policy does not name (a typo) is an
// error naming the policy's products, not "up to date" (red team L5).
func TestUnknownProduct(t *testing.T) {
	p := newProject(t, 1)
	installed10(t, p)
	u := p.updater()
	u.Product = "ap"
	_, err := u.Update(context.Background())
	if err == nil || !strings.Contains(err.Error(), `names the products [app], not "ap"`) {
		t.Fatalf("unknown product: %v", err)
	}
}

// releaseWarnings are st's warnings but the one of a policy without
// witnesses, which every policy of these tests is.
func releaseWarnings(st *Status) []string {
	var out []string
	for _, w := range st.Warnings {
		if !strings.Contains(w, "names no witness quorum") {
			out = append(out, w)
		}
	}
	return out
}
