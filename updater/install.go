package updater

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"ssms.dev/ssms/internal/capped"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/updater/mirror"
	"ssms.dev/ssms/verifier"
	"ssms.dev/ssms/verifier/statedir"
)

// DefaultConfirmWithin is how long a new version has, after its install,
// to pass its own start-up self-check and call Confirm.
const DefaultConfirmWithin = 10 * time.Minute

// maxConfirmWithin bounds ConfirmWithin, in seconds: 30 days.
const maxConfirmWithin = 30 * 24 * 3600

// Request is one verified artifact to install.
type Request struct {
	// Path is the binary that runs, absolute (/usr/local/bin/app).
	Path string
	// Staged is the downloaded artifact, in Path's directory, that the
	// caller hashed and verified. Install takes it over: it is renamed to
	// Path, or removed when the install is undone.
	Staged string
	// Product, Digest and Size are what the caller verified; Result.Next
	// must record Digest among Product's installed artifacts.
	Product string
	Digest  manifest.Digest
	Size    int64
	Result  *verifier.Result // from verifier.Verify in ModeInstall
	Now     time.Time
	// ConfirmWithin is the time the new version has to call Confirm, from
	// the commit, after which Recover rolls it back; 0 means
	// DefaultConfirmWithin. It is kept in whole seconds, at least 1, at
	// most 30 days.
	ConfirmWithin time.Duration
}

// Install installs req.Staged at req.Path and commits req.Result.Next to
// the state in d, whose lock the caller holds, as a journal of steps:
// stage (the file synced, mode 0755), swap (PATH kept as PATH.previous,
// the new file renamed over PATH, the directory synced), commit (the next
// state saved). Each step is written to the journal before it is taken.
// Install ends with the journal at "committed": the caller starts the new
// version, which calls Recover, runs its self-check, and then Confirm or
// RollBack.
//
// An error before the swap leaves PATH and the state as they were; any
// error leaves a journal that Recover finishes or undoes.
func Install(d *statedir.Dir, req Request) error {
	dir := filepath.Dir(d.Path())
	j, err := begin(dir, req)
	if err != nil {
		return fmt.Errorf("installing %s: %w", req.Path, err)
	}
	if err := stage(dir, j); err != nil {
		return fmt.Errorf("installing %s: staging %s: %w", j.Path, j.Staged, err)
	}
	if err := swap(dir, j); err != nil {
		return fmt.Errorf("installing %s: %w", j.Path, err)
	}
	return commit(d, j, req.Now)
}

// begin checks req and what is on disk, and returns the journal to write.
// It changes nothing.
func begin(stateDir string, req Request) (*journal, error) {
	if err := checkRequest(req); err != nil {
		return nil, err
	}
	if j, err := readJournal(stateDir); err != nil {
		return nil, err
	} else if j != nil {
		return nil, fmt.Errorf("%w: %s is at step %s (call Recover)", ErrPending, journalPath(stateDir), j.Step)
	}
	if err := regularOrAbsent(req.Path); err != nil {
		return nil, err
	}
	if err := regularOrAbsent(req.Staged); err != nil {
		return nil, err
	}
	want := digestString(req.Digest)
	got, n, err := fileDigest(req.Staged, req.Size)
	if err != nil {
		return nil, err
	}
	if got != want || n != req.Size {
		return nil, &DigestError{Path: req.Staged, Want: []string{want}, Got: got, What: fmt.Sprintf("the staged artifact (%d bytes, %d verified)", n, req.Size)}
	}
	old, _, err := fileDigest(req.Path, MaxBinarySize)
	if err != nil {
		return nil, err
	}
	if old == want {
		return nil, fmt.Errorf("%w: %s is already %s", ErrSameVersion, req.Path, want)
	}
	next, err := req.Result.Next.Marshal()
	if err != nil {
		return nil, err
	}
	j := &journal{Version: JournalVersion, Path: req.Path, Staged: req.Staged, Product: req.Product,
		Old: old, New: want, Size: req.Size, NextState: string(next)}
	prev, err := capped.ReadFile(filepath.Join(stateDir, "state.json"), verifier.MaxStateSize)
	switch {
	case err == nil:
		j.HadState, j.PrevState = true, string(prev)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	within := req.ConfirmWithin
	if within == 0 {
		within = DefaultConfirmWithin
	}
	j.ConfirmWithin = int64(within / time.Second)
	return j, nil
}

func checkRequest(req Request) error {
	switch {
	case !filepath.IsAbs(req.Path) || filepath.Clean(req.Path) != req.Path:
		return fmt.Errorf("the install path %q is not absolute and clean", req.Path)
	case filepath.Dir(req.Staged) != filepath.Dir(req.Path) || filepath.Clean(req.Staged) != req.Staged:
		return fmt.Errorf("the staged file %s is not in %s (a rename is atomic only within one directory)", req.Staged, filepath.Dir(req.Path))
	case req.Staged == req.Path || req.Staged == previousPath(req.Path) || req.Staged == linkTemp(req.Path):
		return fmt.Errorf("the staged file %s has a name the install uses", req.Staged)
	case !strings.HasPrefix(filepath.Base(req.Staged), mirror.DownloadPrefix):
		return fmt.Errorf("the staged file %s is not named as a download (%s*)", req.Staged, mirror.DownloadPrefix)
	case req.Size < 0 || req.Size > MaxBinarySize:
		return fmt.Errorf("size %d is outside 0..%d", req.Size, MaxBinarySize)
	case req.Now.IsZero():
		return errors.New("the time (Now) is not set")
	case req.ConfirmWithin != 0 && (req.ConfirmWithin < time.Second || req.ConfirmWithin > maxConfirmWithin*time.Second):
		return fmt.Errorf("ConfirmWithin %v is outside 1s..%v", req.ConfirmWithin, maxConfirmWithin*time.Second)
	case req.Result == nil || req.Result.Next == nil:
		return errors.New("no verified result (Result.Next) to commit")
	}
	in := req.Result.Next.Products[req.Product]
	if in != nil {
		for _, s := range in.Artifacts {
			if s.Digest == req.Digest {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: the next state does not record %s as installed for %s", ErrNotVerified, digestString(req.Digest), req.Product)
}

// stage makes the staged file's bytes and mode durable.
func stage(stateDir string, j *journal) error {
	if err := j.write(stateDir, stepStage); err != nil {
		return err
	}
	if err := os.Chmod(j.Staged, 0o755); err != nil {
		return err
	}
	if err := syncFile(j.Staged); err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(j.Path)); err != nil {
		return err
	}
	crash("staged")
	return nil
}

// swap keeps PATH as PATH.previous (a hard link, so PATH never
// disappears) and renames the staged file over PATH, then syncs the
// directory: after swap returns, the new binary is in place for good.
func swap(stateDir string, j *journal) error {
	if err := j.write(stateDir, stepSwap); err != nil {
		return err
	}
	if j.Old != "" {
		tmp := linkTemp(j.Path)
		if err := removeIfExists(tmp); err != nil {
			return err
		}
		if err := os.Link(j.Path, tmp); err != nil {
			return fmt.Errorf("keeping the previous binary: %w", err)
		}
		if err := rename(tmp, previousPath(j.Path)); err != nil {
			return fmt.Errorf("keeping the previous binary: %w", err)
		}
		crash("previous")
	}
	if err := rename(j.Staged, j.Path); err != nil {
		return fmt.Errorf("swapping: %w", err)
	}
	crash("renamed")
	if err := syncDir(filepath.Dir(j.Path)); err != nil {
		return fmt.Errorf("swapping: %w", err)
	}
	crash("swapped")
	return nil
}

// commit stores the next state, then marks the install committed, with
// its deadline counted from now. Called only once the swap is durable and
// PATH holds the new digest.
func commit(d *statedir.Dir, j *journal, now time.Time) error {
	dir := filepath.Dir(d.Path())
	if err := j.write(dir, stepCommit); err != nil {
		return err
	}
	next, err := verifier.ParseState([]byte(j.NextState))
	if err != nil {
		return fmt.Errorf("%s: %w", journalPath(dir), err)
	}
	if err := d.Save(next); err != nil {
		return fmt.Errorf("committing the state to %s: %w", d.Path(), err)
	}
	crash("saved")
	j.Deadline = now.Add(time.Duration(j.ConfirmWithin) * time.Second).UTC().Format(time.RFC3339)
	return j.write(dir, stepCommitted)
}

// regularOrAbsent refuses a symbolic link, a directory or a device where
// a binary goes: a rename would replace the link, not what it points to.
func regularOrAbsent(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file (%v)", path, fi.Mode().Type())
	}
	return nil
}
