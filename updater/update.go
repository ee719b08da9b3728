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
// learns the newest release, and changes nothing but the log index and
// the checkpoint the state remembers.
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
	err = r.newest(ctx)
	if err == nil {
		err = r.witnessed(ctx)
	}
	if err != nil || r.out.Newest == nil || !install {
		if err != nil {
			r.out.Newest = nil
		}
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
	pol       *policies.Policy           // in force at the last install: where the chain of logged policies starts
	chain     *logChain                  // the logged policies from pol to the newest: what the newest release must meet
	proof     []tlog.Hash                // from the remembered checkpoint to out.Checkpoint
	prevSize  int64                      // the remembered checkpoint's size
	seen      *translog.SignedCheckpoint // the log's, checked or not: evidence
	firstSeen time.Time                  // when this updater first saw the newest release in the log
	// unwitnessed is why the policy in force found the log's checkpoint
	// not witnessed, to judge again under the newest logged policy.
	unwitnessed error
	reports     []*report.Report
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
	if r.pol.Witnesses.Quorum == 0 {
		r.out.Warnings = append(r.out.Warnings, fmt.Sprintf("policy version %d names no witness quorum: nothing vouches that the log's checkpoint is recent, so a frozen log (or a wrong clock) goes unnoticed", r.pol.Version))
	}
	if _, err := verifier.CheckCheckpoint(r.pol, cp.Raw, r.now); err != nil {
		if !errors.Is(err, verifier.ErrQuorum) && !errors.Is(err, verifier.ErrStale) {
			return r.refuse(err, "", nil, "", nil)
		}
		// The witnesses may have rotated since the policy in force: the
		// checkpoint is judged again under the newest logged policy
		// (witnessed), and nothing read under it is used before.
		r.unwitnessed = err
	}
	// What this updater saw before: the checkpoint its state remembers
	// (moved on by every check, not only by installs) and the one its
	// index covers (which survives a roll-back of the state).
	remembered, indexed := r.st.Logs[cp.Origin], bundler.IndexCheckpoint(r.indexDir())
	if indexed == remembered {
		indexed = "" // the usual case: one proof is enough
	}
	for _, old := range []string{remembered, indexed} {
		if err := r.extends(ctx, old, cp); err != nil {
			return err
		}
	}
	r.out.Checkpoint = cp
	return nil
}

// witnessed settles a checkpoint the policy in force did not find
// witnessed: the newest logged policy (the chain is verified link by link
// from the one in force) must, or it is refused as it was. Then the state
// remembers it.
func (r *runner) witnessed(ctx context.Context) error {
	cp := r.out.Checkpoint
	if r.unwitnessed != nil {
		pols, err := r.chain.policies(ctx)
		if err != nil {
			return err
		}
		newest := pols[len(pols)-1]
		if newest == r.pol {
			return r.refuse(r.unwitnessed, "", nil, "", nil)
		}
		if _, err := verifier.CheckCheckpoint(newest, cp.Raw, r.now); err != nil {
			return r.refuse(err, "", nil, "", nil)
		}
	}
	if r.st.Logs[cp.Origin] != string(cp.Raw) {
		r.st.Logs[cp.Origin] = string(cp.Raw)
		return r.d.Save(r.st)
	}
	return nil
}

// extends checks that cp extends old, a checkpoint this updater saw
// before ("" for none): a smaller tree is a log gone back (a freeze, or
// the view of another client), a proof that fails is a fork, proven with
// evidence where the proof shows it.
func (r *runner) extends(ctx context.Context, old string, cp *translog.SignedCheckpoint) error {
	if old == "" {
		return nil
	}
	prev, err := translog.OpenCheckpoint([]byte(old), r.u.Log.Origin, r.u.Log.Key)
	if err != nil {
		// Another key under the origin, or a damaged file: the verifier
		// says which.
		return r.refuse(verifier.CheckExtends(r.pol, old, cp.Raw, nil), "", nil, "", nil)
	}
	if prev.Size > cp.Size {
		return r.refuse(fmt.Errorf("%w: the log serves a tree of %d entries, but this updater saw %d before: a log that goes back is frozen, or shows you another view than others see", verifier.ErrConsistency, cp.Size, prev.Size), "consistency", nil, "", nil)
	}
	proof, _ := r.u.Log.ConsistencyProof(ctx, prev.Checkpoint, cp.Checkpoint) // judged below
	if err := verifier.CheckExtends(r.pol, old, cp.Raw, proof); err != nil {
		return r.refuse(err, "", nil, "", nil)
	}
	return nil
}

// newest learns from the log the newest release of the product that the
// newest logged policy approves (see logChain) and that is newer than the
// one running. A logged release below the threshold is no release: it
// cannot make a mirror look like it withholds something.
func (r *runner) newest(ctx context.Context) error {
	ix, _, err := bundler.RefreshIndex(ctx, r.indexDir(), r.u.Log, r.out.Checkpoint)
	if err != nil {
		return fmt.Errorf("reading the log: %w", err)
	}
	if r.chain, err = r.loadChain(ctx, ix); err != nil {
		return fmt.Errorf("reading the log's policies: %w", err)
	}
	defer r.chain.j.save()
	if err := r.chain.checkProduct(ctx); err != nil {
		return err
	}
	var floor uint64
	if r.out.Running != nil {
		floor = r.out.Running.Sequence
	}
	for _, e := range newestFirst(ix.Releases, r.u.Product, floor) {
		ok, stranded, err := r.chain.judge(ctx, e)
		if err != nil {
			return err
		}
		if ok {
			r.out.Newest = &e
			return nil
		}
		if stranded != "" {
			r.out.Warnings = append(r.out.Warnings, stranded)
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
	left, _ := filepath.Glob(filepath.Join(dir, mirror.DownloadPrefix+"*"))
	for _, p := range left {
		if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() && now.Sub(fi.ModTime()) > staleDownload {
			os.Remove(p)
		}
	}
}
