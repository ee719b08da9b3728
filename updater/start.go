package updater

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"ssms.dev/ssms/internal/dirlock"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/verifier"
	"ssms.dev/ssms/verifier/statedir"
)

// Errors of the start-up self-check. Each wraps what failed beneath it
// (a verifier error, statedir.ErrBundleMissing, a file error).
var (
	// ErrNotInstalled: no state records an install of the product, so
	// nothing says which release should run: the binary was not installed
	// by `ssms update` (or with another state directory).
	ErrNotInstalled = errors.New("not installed through ssms update")
	// ErrNotInstalledRelease: the executable's digest and size are not
	// those of an artifact of the installed release: it was copied in or
	// changed after its install.
	ErrNotInstalledRelease = errors.New("the executable is not the installed release")
	// ErrSelfCheck: the installed release's bundle no longer verifies
	// (installed mode) under the pinned policy; it wraps the verifier's
	// error.
	ErrSelfCheck = errors.New("the installed release does not verify")
	// ErrRolledBack: this process is a new version whose install was
	// rolled back (its self-check failed, or it was not confirmed in
	// time); the previous version is at Path again, and the program must
	// exec Path now rather than serve.
	ErrRolledBack = errors.New("the update was rolled back")
)

// DefaultLockWait is how long Start waits for the state directory's lock
// while another process (an update) holds it.
const DefaultLockWait = 10 * time.Second

// DefaultStateDir is the state directory of the binary installed at path:
// PATH.ssms, a directory beside it, so that two installed copies of one
// program never share (and fight over) one state.
func DefaultStateDir(path string) string { return path + ".ssms" }

// Check is a program checking itself at start.
type Check struct {
	Product string           // the product it is: "smp-server"
	Pinned  *policies.Policy // from verifier.Pin: the embedded policy or the deployment's
	// Path is the binary as installed, absolute. "" is this process's
	// executable (os.Executable, symbolic links resolved), and then the
	// bytes hashed are those running (/proc/self/exe where there is one),
	// even if PATH was replaced since the process started.
	Path     string
	StateDir string        // "" is DefaultStateDir(Path)
	Now      time.Time     // zero is time.Now()
	LockWait time.Duration // 0 is DefaultLockWait
	// exe, for tests, is the file hashed as the running bytes instead of
	// Path: a process whose PATH was replaced since it started.
	exe string
}

// Verified is a binary the self-check accepted.
type Verified struct {
	Path, StateDir   string
	Product, Version string
	Sequence         uint64
	Index            int64  // the release's entry in the log
	Artifact         string // the executable's name in the release
	Digest           string // sha256:<hex> of the executable
	Size             int64
	// Confirmed is true when this start confirmed the install of this
	// version; Unconfirmed (SelfCheck only) when its install still waits
	// for the first start to confirm it.
	Confirmed, Unconfirmed bool
}

// running is the executable being checked: where it is installed and the
// digest of the bytes this process runs.
type running struct {
	path, stateDir string
	digest         string
	size           int64
}

// SelfCheck verifies the executable against the state in c's state
// directory without changing anything: no lock, no Recover, no Confirm.
// It is what `--version` reports; a program that is about to serve calls
// Start instead.
func SelfCheck(c Check) (*Verified, error) {
	r, err := c.resolve()
	if err != nil {
		return nil, err
	}
	st, err := statedir.Read(r.stateDir)
	if err != nil {
		return nil, err
	}
	v, err := verify(c, r, st)
	if err != nil {
		return nil, err
	}
	if j, err := readJournal(r.stateDir); err == nil && j != nil && j.Path == r.path && j.New == r.digest {
		v.Unconfirmed = j.Step == stepCommitted
	}
	return v, nil
}

// Start is what a program calls first thing, before it serves or sends:
// it locks the state directory, finishes or undoes an interrupted install
// (Recover), hashes its own executable and verifies it (SelfCheck), and,
// when this start is the first of a new version, confirms the install if
// the check passed or rolls it back if it did not, returning
// ErrRolledBack: the caller must then exec Path, the previous version
// again. The lock is released before Start returns: an update must be
// able to take it while the program runs.
func Start(c Check) (*Verified, error) {
	r, err := c.resolve()
	if err != nil {
		return nil, err
	}
	d, err := openWaiting(r.stateDir, c.lockWait())
	if err != nil {
		return nil, err
	}
	defer d.Close()
	outcome, err := Recover(d, r.path, c.now())
	if err != nil {
		return nil, fmt.Errorf("finishing the interrupted install of %s: %w", r.path, err)
	}
	if outcome == RolledBack {
		if at, _, err := fileDigest(r.path, MaxBinarySize); err != nil || at != r.digest {
			return nil, fmt.Errorf("%w: %s was not confirmed in time; the previous version is back at %s", ErrRolledBack, r.digest, r.path)
		}
	}
	j, err := readJournal(r.stateDir)
	if err != nil {
		return nil, err
	}
	first := j != nil && j.Step == stepCommitted && j.Path == r.path && j.New == r.digest
	st, err := d.Load()
	if err != nil {
		return nil, err
	}
	v, err := verify(c, r, st)
	if !first {
		return v, err
	}
	if err != nil {
		if rbErr := RollBack(d, r.path); rbErr != nil {
			return nil, fmt.Errorf("%w, and rolling the update back failed: %v", err, rbErr)
		}
		back := "the previous one is back at " + r.path
		if j.Old == "" {
			back = "as it was the first install, " + r.path + " was removed"
		}
		return nil, fmt.Errorf("%w: the new version failed its self-check, and %s: %w", ErrRolledBack, back, err)
	}
	if err := Confirm(d, r.path); err != nil {
		return nil, fmt.Errorf("confirming the install of %s: %w", r.path, err)
	}
	v.Confirmed = true
	return v, nil
}

// verify finds the executable among the artifacts of the release st
// records for c.Product and verifies that release's bundle in installed
// mode.
func verify(c Check, r *running, st *verifier.State) (*Verified, error) {
	in := st.Products[c.Product]
	if in == nil {
		return nil, fmt.Errorf("%w: the state in %s records no install of %s", ErrNotInstalled, r.stateDir, c.Product)
	}
	var art *manifest.Subject
	for i, s := range in.Artifacts {
		if size, ok := s.Size(); ok && size == r.size && digestString(s.Digest) == r.digest {
			art = &in.Artifacts[i]
			break
		}
	}
	if art == nil {
		return nil, fmt.Errorf("%w: %s (%s, %d bytes) is none of the artifacts of %s %s, the release installed in %s",
			ErrNotInstalledRelease, r.path, r.digest, r.size, c.Product, in.Version, r.stateDir)
	}
	bundle, err := statedir.ReadBundle(r.stateDir, in.Bundle)
	if err != nil {
		return nil, fmt.Errorf("the bundle of %s %s: %w", c.Product, in.Version, err)
	}
	res, err := verifier.Verify(verifier.Request{
		Bundle: bundle, Product: c.Product, Pinned: c.Pinned, State: st, Now: c.now(), Mode: verifier.ModeInstalled,
		Artifacts: []verifier.Artifact{{Name: art.Name, Digest: art.Digest, Size: r.size}},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s: %w", ErrSelfCheck, c.Product, in.Version, err)
	}
	return &Verified{
		Path: r.path, StateDir: r.stateDir, Product: c.Product, Version: res.Release.Predicate.Version,
		Sequence: res.Release.Predicate.Sequence, Index: res.Index, Artifact: art.Name, Digest: r.digest, Size: r.size,
	}, nil
}

// resolve finds the executable and its state directory, which must
// exist, and hashes the bytes that run.
func (c Check) resolve() (*running, error) {
	if c.Pinned == nil {
		return nil, errors.New("self-check: no pinned policy")
	}
	path, hashed := c.Path, c.Path
	if c.exe != "" {
		hashed = c.exe
	}
	if path == "" {
		exe, err := Executable()
		if err != nil {
			return nil, err
		}
		path, hashed = exe, exe
		// The file this process runs, even if PATH was replaced since.
		if _, err := os.Stat("/proc/self/exe"); err == nil {
			hashed = "/proc/self/exe"
		}
	}
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("the executable path %q is not absolute", path)
	}
	r := &running{path: filepath.Clean(path), stateDir: c.StateDir}
	if r.stateDir == "" {
		r.stateDir = DefaultStateDir(r.path)
	}
	// Before hashing: a development build is refused at once.
	if err := hasStateDir(r.stateDir, c.Product); err != nil {
		return nil, err
	}
	var err error
	if r.digest, r.size, err = fileDigest(hashed, MaxBinarySize); err == nil && r.digest == "" {
		err = fs.ErrNotExist
	}
	if err != nil {
		return nil, fmt.Errorf("hashing the executable %s: %w", path, err)
	}
	return r, nil
}

// Executable is where this process's executable is installed: the path
// it was started from, symbolic links resolved. A process that must exec
// the previous version after ErrRolledBack execs this path.
func Executable() (string, error) {
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		return "", fmt.Errorf("finding this program's executable: %w", err)
	}
	return exe, nil
}

// hasStateDir refuses a missing state directory before anything creates it.
func hasStateDir(dir, product string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: there is no state directory %s to say which release of %s should run", ErrNotInstalled, dir, product)
	}
	if err == nil && !fi.IsDir() {
		err = fmt.Errorf("the state directory %s is not a directory", dir)
	}
	return err
}

// openWaiting locks dir, waiting up to wait while another process holds
// the lock (an update in progress).
func openWaiting(dir string, wait time.Duration) (*statedir.Dir, error) {
	deadline := time.Now().Add(wait)
	for {
		d, err := statedir.Open(dir)
		if !errors.Is(err, dirlock.ErrInUse) || time.Now().After(deadline) {
			return d, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c Check) now() time.Time {
	if c.Now.IsZero() {
		return time.Now()
	}
	return c.Now
}

func (c Check) lockWait() time.Duration {
	if c.LockWait == 0 {
		return DefaultLockWait
	}
	return c.LockWait
}
