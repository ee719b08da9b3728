package updater

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/translog"
	"ssms.dev/ssms/updater/mirror"
	"ssms.dev/ssms/updater/report"
	"ssms.dev/ssms/verifier"
	"ssms.dev/ssms/verifier/bundler"
	"ssms.dev/ssms/verifier/statedir"
)

// Updater updates one installed program: the log says which release of
// its product is the newest, the mirrors (untrusted) serve its bundle and
// artifact, the verifier decides, and Install puts it in place.
type Updater struct {
	Product  string
	Artifact string // the release's artifact to install (default: the product's name, or the only one)
	Path     string // the installed program, absolute
	StateDir string
	Pinned   *policies.Policy // from verifier.Pin
	Log      *translog.Client // the log, or a mirror of its tiles: untrusted too
	Mirrors  []*mirror.Client // tried in order
	Report   string           // an auditors' endpoint for failure reports ("" for none)
	Now      func() time.Time // default time.Now
	Progress io.Writer        // where download bars go, if a terminal
	// FreezeGrace is how long the newest release may be in the log, as
	// this updater saw it, before mirrors that do not serve it are
	// reported as withholding it (a freeze); until then it is only not
	// installable yet. 0 reports at once.
	FreezeGrace time.Duration
	// Timeout bounds the whole run, log and mirrors, downloads and
	// install (0: DefaultTimeout). Each download also has its own
	// deadline (mirror.Client.Deadline); this one holds when there are
	// many mirrors or a slow log, so that no run keeps the state
	// directory's lock (and the installed program from starting) for
	// longer.
	Timeout time.Duration
	// AwaitStart leaves the install unconfirmed for that long: the new
	// version's first start confirms it (or rolls it back, see Start).
	// 0 confirms at once, after checking the installed file again.
	AwaitStart time.Duration
}

// Status is what an update or a check found and did.
type Status struct {
	Product    string
	Running    *verifier.Installed   // before; nil for a first install
	Newest     *bundler.ReleaseEntry // the newest release the log holds that the policy approves; nil if none is newer than Running
	Checkpoint *translog.SignedCheckpoint
	Installed  *verifier.Result // nil if nothing was installed
	Mirror     string           // the mirror it came from
	NotYet     error            // why the newest release cannot be installed yet (rebuilds, minLogAge), if so
	Reports    []string         // failure reports written
	Warnings   []string         // best-effort failures (submitting reports)
}

// DefaultTimeout is the whole run's deadline when Updater.Timeout is 0:
// enough for a 100 MiB artifact at the mirrors' minimum rate
// (mirror.DefaultMinRate), and a bound on how long a hostile mirror or
// log can hold the state directory's lock.
const DefaultTimeout = 30 * time.Minute

// Errors of Update besides the verifier's.
var (
	// ErrTimeout means the run took longer than its Timeout.
	ErrTimeout = errors.New("the update took too long")
	// ErrFrozen means the log holds a newer release than the one running
	// and no mirror served it: the mirrors may be hiding it (a freeze).
	ErrFrozen = errors.New("no mirror serves the newest release")
	// ErrRefused means every mirror's offer failed a security check.
	ErrRefused = errors.New("every offer was refused")
	// ErrUnconfirmed means an install waits for its first start to
	// confirm it.
	ErrUnconfirmed = errors.New("an install waits for its first start")
)

// Check is Update without installing: it checks the log's checkpoint and
// learns the newest release, and changes nothing but the log index.
func (u *Updater) Check(ctx context.Context) (*Status, error) { return u.run(ctx, false) }

// Update installs the newest release the log holds, if it is newer than
// the one running and a mirror serves it so that it verifies. On a
// refusal the running version stays, and a failure report is written (and
// submitted, if Report is set). The error says which check failed.
func (u *Updater) Update(ctx context.Context) (*Status, error) { return u.run(ctx, true) }

func (u *Updater) now() time.Time {
	if u.Now != nil {
		return u.Now()
	}
	return time.Now()
}

// run is one update (or check), within its Timeout.
func (u *Updater) run(ctx context.Context, install bool) (*Status, error) {
	if u.Product == "" || u.Path == "" || u.StateDir == "" || u.Pinned == nil || u.Log == nil {
		return nil, errors.New("updater: Product, Path, StateDir, Pinned and Log are required")
	}
	timeout := u.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("%w: stopped after %v", ErrTimeout, timeout))
	defer cancel()
	st, err := u.runLocked(ctx, install)
	if err != nil && errors.Is(context.Cause(ctx), ErrTimeout) && !errors.Is(err, ErrTimeout) {
		err = fmt.Errorf("%w (%w)", context.Cause(ctx), err)
	}
	return st, err
}

// runLocked is one update (or check) under the state directory's lock.
func (u *Updater) runLocked(ctx context.Context, install bool) (*Status, error) {
	d, err := statedir.Open(u.StateDir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	r := &runner{u: u, d: d, now: u.now(), out: &Status{Product: u.Product}}
	defer r.submit(ctx)
	if install {
		if err := r.recover(); err != nil {
			return r.out, err
		}
		sweepDownloads(filepath.Dir(u.Path), r.now)
	}
	if err := r.load(); err != nil {
		return r.out, err
	}
	if err := r.checkpoint(ctx); err != nil {
		return r.out, err
	}
	if err := r.newest(ctx); err != nil || r.out.Newest == nil || !install {
		return r.out, err
	}
	return r.out, r.fromMirrors(ctx)
}

// runner is one run's work.
type runner struct {
	u         *Updater
	d         *statedir.Dir
	now       time.Time
	out       *Status
	st        *verifier.State
	pol       *policies.Policy           // in force: what the newest release must meet
	proof     []tlog.Hash                // from the remembered checkpoint to out.Checkpoint
	prevSize  int64                      // the remembered checkpoint's size
	seen      *translog.SignedCheckpoint // the log's, checked or not: evidence
	firstSeen time.Time                  // when this updater first saw the newest release in the log
	reports   []*report.Report
}

func (r *runner) recover() error {
	o, err := Recover(r.d, r.u.Path, r.now)
	if err != nil {
		return err
	}
	if o == Unconfirmed {
		return fmt.Errorf("%w: start %s so that it checks itself and confirms the install (or wait for its deadline, after which it is rolled back)", ErrUnconfirmed, r.u.Path)
	}
	return nil
}

// load reads the state and the policy in force.
func (r *runner) load() error {
	var err error
	if r.st, err = r.d.Load(); err != nil {
		return err
	}
	r.out.Running = r.st.Products[r.u.Product]
	var installed []byte
	if r.out.Running != nil {
		if installed, err = statedir.ReadBundle(r.u.StateDir, r.out.Running.Bundle); err != nil {
			return err
		}
	}
	r.pol, err = verifier.PolicyInForce(r.u.Pinned, r.st, r.u.Product, installed, r.now)
	return err
}

// checkpoint fetches the log's checkpoint and checks it before anything
// is read under it: signed, cosigned by a fresh quorum, extending the one
// remembered (a fork is proven, saved and reported).
func (r *runner) checkpoint(ctx context.Context) error {
	cp, err := r.u.Log.Checkpoint(ctx)
	if err != nil {
		return fmt.Errorf("the log: %w", err)
	}
	r.seen = cp
	if _, err := verifier.CheckCheckpoint(r.pol, cp.Raw, r.now); err != nil {
		return r.refuse(err, "", nil, "", nil)
	}
	r.out.Checkpoint = cp
	old := r.st.Logs[cp.Origin]
	if old == "" {
		return nil
	}
	prev, err := translog.OpenCheckpoint([]byte(old), r.u.Log.Origin, r.u.Log.Key)
	if err == nil && prev.Size <= cp.Size {
		r.prevSize = prev.Size
		r.proof, _ = r.u.Log.ConsistencyProof(ctx, prev.Checkpoint, cp.Checkpoint) // judged below
	}
	if err := verifier.CheckExtends(r.pol, old, cp.Raw, r.proof); err != nil {
		r.out.Checkpoint = nil
		return r.refuse(err, "", nil, "", nil)
	}
	return nil
}

// newest learns from the log the newest release of the product that the
// policy in force approves and that is newer than the one running. A
// logged release below the threshold is no release: it cannot make a
// mirror look like it withholds something.
func (r *runner) newest(ctx context.Context) error {
	ix, _, err := bundler.RefreshIndex(ctx, filepath.Join(r.u.StateDir, "index"), r.u.Log, r.out.Checkpoint)
	if err != nil {
		return fmt.Errorf("reading the log: %w", err)
	}
	var floor uint64
	if r.out.Running != nil {
		floor = r.out.Running.Sequence
	}
	for _, e := range newestFirst(ix.Releases, r.u.Product, floor) {
		entries, err := r.u.Log.Entries(ctx, e.Index, e.Index+1, r.out.Checkpoint.Checkpoint)
		if err != nil {
			return fmt.Errorf("reading the log: %w", err)
		}
		env, err := manifest.ParseEnvelope(entries[0])
		if err != nil {
			continue
		}
		rel, err := manifest.ParseRelease(env.Payload)
		if err != nil {
			continue
		}
		if _, err := r.pol.ApproveRelease(env, rel); err == nil {
			r.out.Newest = &e
			return nil
		}
	}
	return nil
}

// staleDownload is how old a download left in the install directory must
// be before it is taken for the remains of a killed update: another
// updater of another program may be writing one there now.
const staleDownload = time.Hour

// sweepDownloads removes what killed updates left in dir: mirror.Client
// removes its temporary file on every error, but not when SIGKILLed.
func sweepDownloads(dir string, now time.Time) {
	left, _ := filepath.Glob(filepath.Join(dir, ".ssms-download-*"))
	for _, p := range left {
		if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() && now.Sub(fi.ModTime()) > staleDownload {
			os.Remove(p)
		}
	}
}
