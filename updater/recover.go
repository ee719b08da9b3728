package updater

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"ssms.dev/ssms/internal/atomicfile"
	"ssms.dev/ssms/verifier"
	"ssms.dev/ssms/verifier/statedir"
)

// Outcome is what Recover did.
type Outcome int

// After Finished or Unconfirmed, PATH is the new version, which must
// run its self-check and call Confirm or RollBack; after RolledBack, a
// process that is the new version must exec PATH again (the old one).
const (
	Clean       Outcome = iota // no install was pending
	Undone                     // an install interrupted before its swap was undone
	Finished                   // an install interrupted after its swap was finished
	Unconfirmed                // an install waits for Confirm, its deadline not passed
	RolledBack                 // an unconfirmed install was rolled back
)

func (o Outcome) String() string {
	return [...]string{"clean", "undone", "finished", "unconfirmed", "rolled back"}[o]
}

// Recover finishes or undoes an install interrupted in d (whose lock the
// caller holds) for the binary at path; a program calls it first thing at
// every start. The rule, by the journal's step:
//
//   - stage: the swap had not begun; the staged file is removed.
//   - swap: if PATH holds the new digest the swap happened, and the install
//     is finished (directory synced, state committed): the new bytes are
//     exactly those verified, and the state committed is the one Verify
//     returned for them, so finishing is what the install would have done,
//     and the self-check and Confirm deadline still guard the first start.
//     If PATH holds the old digest (or, for a first install, no file), the
//     swap did not happen or a power cut forgot it; the install is undone.
//     Anything else is a *DigestError and nothing changes.
//   - commit: the swap was durable before this step was written; the state
//     is saved (again) and the install marked committed.
//   - committed: until the deadline, Unconfirmed; after it, RollBack. A
//     finished install's deadline counts from the Recover that finished
//     it, so a machine that was off for a week still gives the new version
//     its time to confirm.
//   - rollback: the roll-back is finished.
//
// Recover first removes the temporary files a kill inside an atomic write
// of the journal or the state leaves. Every branch is idempotent: a second Recover finds no journal or the
// same committed one, and changes nothing.
func Recover(d *statedir.Dir, path string, now time.Time) (Outcome, error) {
	dir := filepath.Dir(d.Path())
	// A kill inside an atomic write of the journal or the state leaves a
	// temporary file and the previous version, as if it had not begun.
	for _, p := range []string{journalPath(dir), d.Path()} {
		if err := atomicfile.RemoveTemps(p); err != nil {
			return Clean, err
		}
	}
	j, err := readJournal(dir)
	if err != nil || j == nil {
		return Clean, err
	}
	if j.Path != path {
		return Clean, fmt.Errorf("%w: %s is for %s, not %s", ErrPending, journalPath(dir), j.Path, path)
	}
	if err := removeIfExists(linkTemp(j.Path)); err != nil {
		return Clean, err
	}
	switch j.Step {
	case stepStage:
		return Undone, undo(dir, j)
	case stepSwap:
		cur, _, err := fileDigest(j.Path, MaxBinarySize)
		if err != nil {
			return Clean, err
		}
		switch cur {
		case j.New:
			if err := syncDir(filepath.Dir(j.Path)); err != nil {
				return Clean, err
			}
			return Finished, commit(d, j, now)
		case j.Old:
			return Undone, undo(dir, j)
		}
		return Clean, &DigestError{Path: j.Path, What: "the binary", Want: []string{j.Old, j.New}, Got: cur}
	case stepCommit:
		if err := expect(j.Path, "the new binary", j.New); err != nil {
			return Clean, err
		}
		return Finished, commit(d, j, now)
	case stepCommitted:
		deadline, _ := time.Parse(time.RFC3339, j.Deadline) // checked by readJournal
		if !now.After(deadline) {
			return Unconfirmed, nil
		}
	}
	return RolledBack, rollBack(d, j)
}

// undo ends an install whose swap did not happen: PATH is the old binary
// and the state was never touched.
func undo(stateDir string, j *journal) error {
	if err := removeIfExists(j.Staged); err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(j.Path)); err != nil {
		return err
	}
	return removeJournal(stateDir)
}

// Confirm marks the install in d of the binary at path good: the new
// version passed its own start-up self-check. PATH must hold the new
// digest. PATH.previous stays until the next install replaces it.
func Confirm(d *statedir.Dir, path string) error {
	dir := filepath.Dir(d.Path())
	j, err := waiting(dir, path)
	if err != nil {
		return err
	}
	if j.Step != stepCommitted {
		// A roll-back begun is finished, never confirmed: the state may
		// already be the previous one.
		return fmt.Errorf("%w: %s is rolling back (call Recover)", ErrNoInstall, path)
	}
	if err := expect(j.Path, "the new binary", j.New); err != nil {
		return fmt.Errorf("confirming: %w", err)
	}
	return removeJournal(dir)
}

// RollBack undoes the install in d of the binary at path that waits for
// confirmation (the new version failed its self-check): the state before
// the install is restored from the journal first, then PATH.previous is
// renamed over PATH, so the state is never ahead of the binary. The new
// binary is gone afterwards; a running process keeps its open file.
func RollBack(d *statedir.Dir, path string) error {
	j, err := waiting(filepath.Dir(d.Path()), path)
	if err != nil {
		return err
	}
	return rollBack(d, j)
}

func waiting(stateDir, path string) (*journal, error) {
	j, err := readJournal(stateDir)
	if err != nil {
		return nil, err
	}
	if j == nil || j.Path != path || (j.Step != stepCommitted && j.Step != stepRollBack) {
		return nil, fmt.Errorf("%w: for %s in %s", ErrNoInstall, path, stateDir)
	}
	return j, nil
}

func rollBack(d *statedir.Dir, j *journal) error {
	dir := filepath.Dir(d.Path())
	if j.Step != stepRollBack {
		if err := j.write(dir, stepRollBack); err != nil {
			return err
		}
	}
	if err := restoreState(d, j); err != nil {
		return fmt.Errorf("rolling back %s: restoring %s: %w", j.Path, d.Path(), err)
	}
	crash("restored-state")
	if err := restoreBinary(j); err != nil {
		return fmt.Errorf("rolling back %s: %w", j.Path, err)
	}
	crash("restored-binary")
	return removeJournal(dir)
}

func restoreState(d *statedir.Dir, j *journal) error {
	if !j.HadState {
		if err := removeIfExists(d.Path()); err != nil {
			return err
		}
		return syncDir(filepath.Dir(d.Path()))
	}
	prev, err := verifier.ParseState([]byte(j.PrevState))
	if err != nil {
		return err
	}
	return d.Save(prev)
}

// restoreBinary puts the old binary back at PATH, by a rename of
// PATH.previous; it does nothing if PATH already holds it.
func restoreBinary(j *journal) error {
	cur, _, err := fileDigest(j.Path, MaxBinarySize)
	if err != nil || cur == j.Old {
		return err
	}
	if cur != j.New {
		return &DigestError{Path: j.Path, What: "the binary", Want: []string{j.Old, j.New}, Got: cur}
	}
	if j.Old == "" {
		if err := os.Remove(j.Path); err != nil {
			return err
		}
	} else {
		prev := previousPath(j.Path)
		if err := expect(prev, "the previous binary", j.Old); err != nil {
			return err
		}
		if err := rename(prev, j.Path); err != nil {
			return err
		}
		crash("restored-renamed")
	}
	return syncDir(filepath.Dir(j.Path))
}

func expect(path, what, want string) error {
	got, _, err := fileDigest(path, MaxBinarySize)
	if err != nil {
		return err
	}
	if got != want {
		return &DigestError{Path: path, What: what, Want: []string{want}, Got: got}
	}
	return nil
}
