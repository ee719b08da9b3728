package updater

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ssms.dev/ssms/internal/dirlock"
	"ssms.dev/ssms/internal/releasetest"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/verifier"
	"ssms.dev/ssms/verifier/statedir"
)

var (
	binV1 = bytes.Repeat([]byte("smp-server 1.0.0\n"), 500)
	binV2 = bytes.Repeat([]byte("smp-server 2.0.0\n"), 600)
)

// installed is smp-server 1.0.0 installed at root/bin/smp-server, with its
// state in the default directory beside it.
type installed struct {
	w      *releasetest.World
	path   string
	bundle []byte
}

func newInstalled(t *testing.T) *installed {
	t.Helper()
	w, err := releasetest.New("smp-client", "smp-server")
	must(t, err)
	in := &installed{w: w, path: filepath.Join(t.TempDir(), "bin", "smp-server")}
	in.bundle, err = w.Release("smp-server", "1.0.0", 1, map[string][]byte{"smp-server-linux-amd64": binV1})
	must(t, err)
	must(t, w.InstallFile(in.path, DefaultStateDir(in.path), "smp-server", in.bundle, "smp-server-linux-amd64", binV1))
	return in
}

func (in *installed) check(t *testing.T) Check {
	t.Helper()
	pinned, err := in.w.Pinned()
	must(t, err)
	return Check{Product: "smp-server", Pinned: pinned, Path: in.path, Now: in.w.Now.Add(time.Minute)}
}

// update installs version 2.0.0 through the journal (Install), as
// `ssms update` does, leaving it to be confirmed by its first start.
func (in *installed) update(t *testing.T) {
	t.Helper()
	bundle, err := in.w.Release("smp-server", "2.0.0", 2, map[string][]byte{"smp-server-linux-amd64": binV2})
	must(t, err)
	d, err := statedir.Open(DefaultStateDir(in.path))
	must(t, err)
	defer d.Close()
	st, err := d.Load()
	must(t, err)
	res, err := in.w.Verify(st, "smp-server", bundle, "smp-server-linux-amd64", binV2)
	must(t, err)
	_, err = d.SaveBundle(bundle)
	must(t, err)
	staged := filepath.Join(filepath.Dir(in.path), ".ssms-download-smp-server")
	must(t, os.WriteFile(staged, binV2, 0o600))
	must(t, Install(d, Request{Path: in.path, Staged: staged, Product: "smp-server", Digest: manifest.DigestBytes(binV2),
		Size: int64(len(binV2)), Result: res, Now: in.w.Now, ConfirmWithin: time.Hour}))
}

func (in *installed) binary(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(in.path)
	must(t, err)
	return b
}

func TestStartVerifiedInstall(t *testing.T) {
	in := newInstalled(t)
	v, err := Start(in.check(t))
	must(t, err)
	if v.Version != "1.0.0" || v.Product != "smp-server" || v.Artifact != "smp-server-linux-amd64" || v.Index != 1 || v.Confirmed {
		t.Fatalf("got %+v", v)
	}
	if v.Digest != digestString(manifest.DigestBytes(binV1)) || v.Size != int64(len(binV1)) {
		t.Fatalf("digest %s, size %d", v.Digest, v.Size)
	}
	// The lock is released: an update can take it while the program runs.
	d, err := statedir.Open(DefaultStateDir(in.path))
	must(t, err)
	d.Close()
	v, err = SelfCheck(in.check(t))
	must(t, err)
	if v.Version != "1.0.0" || v.Unconfirmed {
		t.Fatalf("read-only check: %+v", v)
	}
}

func TestStartRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(t *testing.T, in *installed, c *Check)
		want  error
		also  error
		inMsg string
	}{
		{"no state directory", func(t *testing.T, in *installed, c *Check) {
			c.StateDir = filepath.Join(filepath.Dir(in.path), "elsewhere")
		}, ErrNotInstalled, nil, "there is no state directory"},
		{"another product", func(t *testing.T, in *installed, c *Check) {
			c.Product = "smp-client"
		}, ErrNotInstalled, nil, "records no install of smp-client"},
		{"executable replaced", func(t *testing.T, in *installed, c *Check) {
			must(t, os.WriteFile(in.path, binV2, 0o755))
		}, ErrNotInstalledRelease, nil, "is none of the artifacts of smp-server 1.0.0"},
		{"executable changed, same size", func(t *testing.T, in *installed, c *Check) {
			b := in.binary(t)
			b[len(b)/2] ^= 1
			must(t, os.WriteFile(in.path, b, 0o755))
		}, ErrNotInstalledRelease, nil, ""},
		{"bundle missing", func(t *testing.T, in *installed, c *Check) {
			must(t, os.RemoveAll(filepath.Join(DefaultStateDir(in.path), "bundles")))
		}, statedir.ErrBundleMissing, nil, "the bundle of smp-server 1.0.0"},
		{"another pinned policy", func(t *testing.T, in *installed, c *Check) {
			other, err := releasetest.New("smp-server")
			must(t, err)
			c.Pinned, err = other.Pinned()
			must(t, err)
		}, ErrSelfCheck, verifier.ErrPolicyChain, ""},
		{"state corrupt", func(t *testing.T, in *installed, c *Check) {
			must(t, os.WriteFile(filepath.Join(DefaultStateDir(in.path), "state.json"), []byte("{"), 0o600))
		}, verifier.ErrStateCorrupt, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, fn := range []func(Check) (*Verified, error){Start, SelfCheck} {
				in := newInstalled(t)
				c := in.check(t)
				tc.edit(t, in, &c)
				_, err := fn(c)
				if !errors.Is(err, tc.want) || (tc.also != nil && !errors.Is(err, tc.also)) {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
				if !bytes.Contains([]byte(err.Error()), []byte(tc.inMsg)) {
					t.Fatalf("%q does not say %q", err, tc.inMsg)
				}
			}
		})
	}
}

func TestStartCreatesNoStateDirectory(t *testing.T) {
	in := newInstalled(t)
	c := in.check(t)
	c.StateDir = filepath.Join(t.TempDir(), "none")
	if _, err := Start(c); !errors.Is(err, ErrNotInstalled) {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.StateDir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Start made %s: %v", c.StateDir, err)
	}
}

func TestStartConfirmsNewVersion(t *testing.T) {
	in := newInstalled(t)
	in.update(t)
	v, err := SelfCheck(in.check(t))
	must(t, err)
	if v.Version != "2.0.0" || !v.Unconfirmed {
		t.Fatalf("before its first start: %+v", v)
	}
	v, err = Start(in.check(t))
	must(t, err)
	if v.Version != "2.0.0" || !v.Confirmed {
		t.Fatalf("got %+v", v)
	}
	if _, err := os.Stat(filepath.Join(DefaultStateDir(in.path), JournalFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("journal left after Confirm: %v", err)
	}
	if v, err = Start(in.check(t)); err != nil || v.Confirmed {
		t.Fatalf("second start: %+v, %v", v, err)
	}
}

func TestStartRollsBackFailedVersion(t *testing.T) {
	in := newInstalled(t)
	in.update(t)
	// The new version's bundle is lost: its self-check fails.
	must(t, os.Remove(bundleOf(t, in.path, "2.0.0")))
	_, err := Start(in.check(t))
	if !errors.Is(err, ErrRolledBack) || !errors.Is(err, statedir.ErrBundleMissing) {
		t.Fatalf("got %v, want ErrRolledBack with the reason", err)
	}
	if !bytes.Equal(in.binary(t), binV1) {
		t.Fatal("the previous binary is not back at PATH")
	}
	v, err := Start(in.check(t))
	must(t, err)
	if v.Version != "1.0.0" || v.Confirmed {
		t.Fatalf("the previous version after the roll-back: %+v", v)
	}
}

func TestStartAfterDeadlineRollsBack(t *testing.T) {
	in := newInstalled(t)
	in.update(t)
	// The new version starts for the first time after its deadline, from
	// a copy of its bytes (as /proc/self/exe would be once PATH changes).
	exe := filepath.Join(t.TempDir(), "running")
	must(t, os.WriteFile(exe, binV2, 0o755))
	c := in.check(t)
	c.exe, c.Now = exe, in.w.Now.Add(2*time.Hour)
	if _, err := Start(c); !errors.Is(err, ErrRolledBack) {
		t.Fatalf("got %v, want ErrRolledBack", err)
	}
	if !bytes.Equal(in.binary(t), binV1) {
		t.Fatal("the previous binary is not back at PATH")
	}
}

func TestStartWaitsForLock(t *testing.T) {
	in := newInstalled(t)
	d, err := statedir.Open(DefaultStateDir(in.path))
	must(t, err)
	c := in.check(t)
	c.LockWait = 100 * time.Millisecond
	if _, err := Start(c); !errors.Is(err, dirlock.ErrInUse) {
		t.Fatalf("got %v, want ErrInUse", err)
	}
	// SelfCheck reads without the lock.
	if _, err := SelfCheck(c); err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(200*time.Millisecond, func() { d.Close() })
	c.LockWait = 5 * time.Second
	if _, err := Start(c); err != nil {
		t.Fatalf("after the lock was released: %v", err)
	}
}

// bundleOf is the path of the bundle the state records for version.
func bundleOf(t *testing.T, path, version string) string {
	t.Helper()
	st, err := statedir.Read(DefaultStateDir(path))
	must(t, err)
	in := st.Products["smp-server"]
	if in == nil || in.Version != version {
		t.Fatalf("the state records %+v, not %s", in, version)
	}
	p, err := statedir.BundlePath(DefaultStateDir(path), in.Bundle)
	must(t, err)
	return p
}

// A first install that fails its first start is removed: no binary at
// PATH, no state, and the caller has no previous version to exec.
func TestStartRollsBackFirstInstall(t *testing.T) {
	w, err := releasetest.New("smp-server")
	must(t, err)
	in := &installed{w: w, path: filepath.Join(t.TempDir(), "smp-server")}
	bundle, err := w.Release("smp-server", "1.0.0", 1, map[string][]byte{"smp-server": binV1})
	must(t, err)
	res, err := w.Verify(nil, "smp-server", bundle, "smp-server", binV1)
	must(t, err)
	staged := filepath.Join(filepath.Dir(in.path), ".ssms-download-first")
	must(t, os.WriteFile(staged, binV1, 0o600))
	d, err := statedir.Open(DefaultStateDir(in.path))
	must(t, err)
	_, err = d.SaveBundle(bundle)
	must(t, err)
	must(t, Install(d, Request{Path: in.path, Staged: staged, Product: "smp-server", Digest: manifest.DigestBytes(binV1),
		Size: int64(len(binV1)), Result: res, Now: w.Now, ConfirmWithin: time.Hour}))
	d.Close()
	// The running bytes, kept open by the process after PATH is removed.
	exe := filepath.Join(t.TempDir(), "running")
	must(t, os.WriteFile(exe, binV1, 0o755))
	must(t, os.Remove(bundleOf(t, in.path, "1.0.0")))
	c := in.check(t)
	c.exe = exe
	if _, err := Start(c); !errors.Is(err, ErrRolledBack) || !strings.Contains(err.Error(), "as it was the first install") {
		t.Fatalf("got %v, want ErrRolledBack of a first install", err)
	}
	for _, p := range []string{in.path, filepath.Join(DefaultStateDir(in.path), "state.json")} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s after the roll-back of a first install: %v", p, err)
		}
	}
}
