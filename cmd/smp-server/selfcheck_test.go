package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ssms.dev/ssms/internal/releasetest"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/updater"
	"ssms.dev/ssms/verifier/statedir"
)

// builds are two real smp-server binaries, built once: version 1.0.0 and
// 2.0.0 (different bytes, both working servers).
var builds struct {
	once   sync.Once
	v1, v2 []byte
	err    error
}

func buildTwo(t *testing.T) ([]byte, []byte) {
	t.Helper()
	builds.once.Do(func() {
		dir, err := os.MkdirTemp("", "smp-server-builds")
		if err != nil {
			builds.err = err
			return
		}
		defer os.RemoveAll(dir)
		for _, b := range []struct {
			v   string
			out *[]byte
		}{{"1.0.0", &builds.v1}, {"2.0.0", &builds.v2}} {
			path := filepath.Join(dir, b.v)
			if builds.err = releasetest.Build(path, "ssms.dev/ssms/cmd/smp-server", "-ldflags=-X main.version="+b.v); builds.err != nil {
				return
			}
			if *b.out, builds.err = os.ReadFile(path); builds.err != nil {
				return
			}
		}
	})
	if builds.err != nil {
		t.Fatal(builds.err)
	}
	return builds.v1, builds.v2
}

// site is a machine with smp-server's directory initialised and a binary
// at bin/smp-server, installed or not.
type site struct {
	t         *testing.T
	dir, path string
	policy    string // the deployment's policy file
	w         *releasetest.World
	v1, v2    []byte
}

func newSite(t *testing.T) *site {
	t.Helper()
	s := &site{t: t, dir: t.TempDir()}
	s.v1, s.v2 = buildTwo(t)
	s.path = filepath.Join(s.dir, "bin", "smp-server")
	must(t, os.MkdirAll(filepath.Dir(s.path), 0o755))
	must(t, os.WriteFile(s.path, s.v1, 0o755))
	var err error
	s.w, err = releasetest.New("smp-client", "smp-server")
	must(t, err)
	s.policy = filepath.Join(s.dir, "policy.json")
	must(t, os.WriteFile(s.policy, s.w.PolicyFile, 0o644))
	out, err := exec.Command(s.path, "init", "--dir", filepath.Join(s.dir, "srv"), "--host", "127.0.0.1").CombinedOutput()
	if err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	return s
}

// install records version v1 at PATH as `ssms update` would.
func (s *site) install() {
	s.t.Helper()
	bundle, err := s.w.Release("smp-server", "1.0.0", 1, map[string][]byte{"smp-server-linux-amd64": s.v1})
	must(s.t, err)
	must(s.t, s.w.InstallFile(s.path, updater.DefaultStateDir(s.path), "smp-server", bundle, "smp-server-linux-amd64", s.v1))
}

// update installs v2 through the install journal, to be confirmed by its
// first start, and returns the path of its bundle in the state directory.
func (s *site) update() string {
	s.t.Helper()
	bundle, err := s.w.Release("smp-server", "2.0.0", 2, map[string][]byte{"smp-server-linux-amd64": s.v2})
	must(s.t, err)
	d, err := statedir.Open(updater.DefaultStateDir(s.path))
	must(s.t, err)
	defer d.Close()
	st, err := d.Load()
	must(s.t, err)
	res, err := s.w.Verify(st, "smp-server", bundle, "smp-server-linux-amd64", s.v2)
	must(s.t, err)
	digest, err := d.SaveBundle(bundle)
	must(s.t, err)
	staged := filepath.Join(filepath.Dir(s.path), ".ssms-download-smp-server")
	must(s.t, os.WriteFile(staged, s.v2, 0o600))
	must(s.t, updater.Install(d, updater.Request{Path: s.path, Staged: staged, Product: "smp-server",
		Digest: manifest.DigestBytes(s.v2), Size: int64(len(s.v2)), Result: res, Now: time.Now(), ConfirmWithin: time.Hour}))
	p, err := statedir.BundlePath(updater.DefaultStateDir(s.path), digest)
	must(s.t, err)
	return p
}

// start runs PATH start with args and returns its stderr once it listens
// (then stops it), or once it exits; ok says whether it listened.
func (s *site) start(args ...string) (stderr string, ok bool) {
	s.t.Helper()
	cmd := exec.Command(s.path, append([]string{"start", "--dir", filepath.Join(s.dir, "srv"), "--addr", "127.0.0.1:0", "--store-log", "off"}, args...)...)
	pipe, err := cmd.StderrPipe()
	must(s.t, err)
	must(s.t, cmd.Start())
	defer cmd.Wait()
	defer cmd.Process.Kill()
	var b strings.Builder
	done := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "listening on") {
				done <- true
				return
			}
		}
		done <- false
	}()
	select {
	case ok = <-done:
	case <-time.After(30 * time.Second):
		s.t.Fatalf("smp-server start neither listened nor exited in 30 s:\n%s", b.String())
	}
	return b.String(), ok
}

func (s *site) version(args ...string) string {
	s.t.Helper()
	out, err := exec.Command(s.path, append([]string{"--version"}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("--version: %v\n%s", err, out)
	}
	return string(out)
}

func wants(t *testing.T, what, got string, ok bool, wantOK bool, lines ...string) {
	t.Helper()
	if ok != wantOK {
		t.Fatalf("%s: listened %v, want %v; stderr:\n%s", what, ok, wantOK, got)
	}
	for _, l := range lines {
		if !strings.Contains(got, l) {
			t.Fatalf("%s: stderr does not say %q:\n%s", what, l, got)
		}
	}
}

func TestSelfCheckRefusesUnverifiedBuild(t *testing.T) {
	s := newSite(t)
	got, ok := s.start()
	wants(t, "a development build", got, ok, false,
		"smp-server: error: refusing to run: not installed through ssms update: there is no state directory "+s.path+".ssms",
		"smp-server: hint: install a verified build with `ssms update --product smp-server --install "+s.path,
		"or pass --allow-unverified to run a development build")
	if strings.Count(got, "smp-server: error:") != 1 {
		t.Fatalf("want one error:\n%s", got)
	}
	if _, err := os.Stat(s.path + ".ssms"); !os.IsNotExist(err) {
		t.Fatalf("the refused start made a state directory: %v", err)
	}
	if v := s.version(); !strings.Contains(v, "smp-server 1.0.0\n") || !strings.Contains(v, "\nnot verified: not installed through ssms update") {
		t.Fatalf("--version:\n%s", v)
	}
}

func TestSelfCheckAllowUnverifiedWarns(t *testing.T) {
	s := newSite(t)
	got, ok := s.start("--allow-unverified")
	wants(t, "--allow-unverified", got, ok, true, "smp-server: WARNING: running an unverified build: not installed through ssms update")
}

func TestSelfCheckVerifiedInstallRuns(t *testing.T) {
	s := newSite(t)
	s.install()
	got, ok := s.start("--policy", s.policy)
	wants(t, "a verified install", got, ok, true)
	if strings.Contains(got, "WARNING") {
		t.Fatalf("a verified install warns:\n%s", got)
	}
	v := s.version("--policy", s.policy)
	if !strings.Contains(v, "verified: release 1.0.0 of smp-server (log index 1), sha256:") || !strings.Contains(v, "\ngo: go1.") {
		t.Fatalf("--version:\n%s", v)
	}
	// The same install under the project's policy, which did not approve
	// this release, is refused: the pin decides.
	got, ok = s.start()
	wants(t, "another pinned policy", got, ok, false, "refusing to run: the installed release does not verify: smp-server 1.0.0: policy chain refused")
	// SSMS_POLICY stands for --policy.
	cmd := exec.Command(s.path, "--version")
	cmd.Env = append(os.Environ(), "SSMS_POLICY="+s.policy)
	out, err := cmd.Output()
	if err != nil || !bytes.Contains(out, []byte("verified: release 1.0.0")) {
		t.Fatalf("SSMS_POLICY: %v\n%s", err, out)
	}
}

func TestSelfCheckStateFlag(t *testing.T) {
	s := newSite(t)
	s.install()
	moved := filepath.Join(s.dir, "state")
	must(t, os.Rename(updater.DefaultStateDir(s.path), moved))
	got, ok := s.start("--policy", s.policy)
	wants(t, "state moved", got, ok, false, "pass --state")
	got, ok = s.start("--policy", s.policy, "--state", moved)
	wants(t, "--state", got, ok, true)
}

func TestSelfCheckRefusesReplacedBinary(t *testing.T) {
	s := newSite(t)
	s.install()
	must(t, os.WriteFile(s.path, s.v2, 0o755))
	got, ok := s.start("--policy", s.policy)
	wants(t, "a replaced binary", got, ok, false,
		"refusing to run: the executable is not the installed release: "+s.path,
		"is none of the artifacts of smp-server 1.0.0",
		"smp-server: hint: the file at ")
}

func TestSelfCheckConfirmsUpdate(t *testing.T) {
	s := newSite(t)
	s.install()
	s.update()
	if v := s.version("--policy", s.policy); !strings.Contains(v, "verified: release 2.0.0") || !strings.Contains(v, "waiting for its first start") {
		t.Fatalf("--version before the first start:\n%s", v)
	}
	got, ok := s.start("--policy", s.policy)
	wants(t, "the first start of 2.0.0", got, ok, true, "smp-server: smp-server 2.0.0 passed its self-check: install confirmed")
	if _, err := os.Stat(filepath.Join(updater.DefaultStateDir(s.path), updater.JournalFile)); !os.IsNotExist(err) {
		t.Fatalf("the install is still waiting: %v", err)
	}
}

func TestSelfCheckRollsBackFailedUpdate(t *testing.T) {
	s := newSite(t)
	s.install()
	must(t, os.Remove(s.update())) // 2.0.0's bundle is lost: its self-check fails
	got, ok := s.start("--policy", s.policy)
	wants(t, "the first start of a failing 2.0.0", got, ok, true,
		"smp-server: error: the update was rolled back: the new version failed its self-check",
		"the installed bundle is missing",
		"smp-server: restarting the previous version, "+s.path)
	if strings.Contains(got, "WARNING") || strings.Contains(got, "confirmed") {
		t.Fatalf("stderr:\n%s", got)
	}
	b, err := os.ReadFile(s.path)
	must(t, err)
	if !bytes.Equal(b, s.v1) {
		t.Fatal("PATH is not 1.0.0 after the roll-back")
	}
	if v := s.version("--policy", s.policy); !strings.Contains(v, "smp-server 1.0.0\n") || !strings.Contains(v, "verified: release 1.0.0") {
		t.Fatalf("--version after the roll-back:\n%s", v)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
