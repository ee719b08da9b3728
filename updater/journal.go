package updater

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"ssms.dev/ssms/internal/atomicfile"
	"ssms.dev/ssms/internal/capped"
	"ssms.dev/ssms/internal/strictjson"
	"ssms.dev/ssms/updater/mirror"
	"ssms.dev/ssms/verifier"
	"ssms.dev/ssms/verifier/statedir"
)

// JournalFile is the journal's name inside the state directory.
const JournalFile = "install.journal"

// JournalVersion is the version of the journal format this package writes.
const JournalVersion = 1

// MaxJournalSize bounds a journal file: two states and a few names.
const MaxJournalSize = 2*verifier.MaxStateSize + 64<<10

// The steps of an install, in order, then of a roll-back. Each is written
// to the journal before it is taken.
const (
	stepStage     = "stage"     // making the staged file durable
	stepSwap      = "swap"      // keeping PATH.previous, renaming the new file over PATH
	stepCommit    = "commit"    // storing the next state
	stepCommitted = "committed" // installed, waiting for Confirm until the deadline
	stepRollBack  = "rollback"  // restoring the previous state, then PATH.previous
)

// journal is one install in progress. Digests are sha256:<hex>; Old is ""
// when PATH did not exist.
type journal struct {
	Version   int    `json:"version"`
	Step      string `json:"step"`
	Path      string `json:"path"`
	Staged    string `json:"staged"`
	Product   string `json:"product"`
	Old       string `json:"old"`
	New       string `json:"new"`
	Size      int64  `json:"size"`
	HadState  bool   `json:"hadState"`
	PrevState string `json:"prevState"` // the state file's bytes before the install
	NextState string `json:"nextState"` // the state to commit
	// ConfirmWithin is the time, in seconds, the new version has to call
	// Confirm once the install is committed; Deadline is when that time
	// ends (RFC 3339, UTC), set when the step "committed" is written.
	ConfirmWithin int64  `json:"confirmWithin"`
	Deadline      string `json:"deadline"`
}

func journalPath(stateDir string) string { return filepath.Join(stateDir, JournalFile) }

// readJournal returns nil, nil when there is no journal.
func readJournal(stateDir string) (*journal, error) {
	path := journalPath(stateDir)
	if err := statedir.CheckOwner(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	b, err := capped.ReadFile(path, MaxJournalSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	j, err := parseJournal(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return j, nil
}

// parseJournal decodes and checks a journal, accepting only the exact
// bytes marshalJournal writes; any problem is ErrJournalCorrupt.
func parseJournal(b []byte) (*journal, error) {
	var j journal
	body, ok := bytes.CutSuffix(b, []byte("\n"))
	if err := strictjson.DecodeCanonical(body, &j, MaxJournalSize); err != nil || !ok {
		if err := strictjson.Decode(b, &journal{}, MaxJournalSize); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrJournalCorrupt, err)
		}
		return nil, fmt.Errorf("%w: not in the canonical form this updater writes", ErrJournalCorrupt)
	}
	if err := j.check(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJournalCorrupt, err)
	}
	return &j, nil
}

func (j *journal) check() error {
	switch {
	case j.Version != JournalVersion:
		return fmt.Errorf("version %d; this updater reads version %d", j.Version, JournalVersion)
	case j.Step != stepStage && j.Step != stepSwap && j.Step != stepCommit &&
		j.Step != stepCommitted && j.Step != stepRollBack:
		return fmt.Errorf("unknown step %q", j.Step)
	case !filepath.IsAbs(j.Path) || !filepath.IsAbs(j.Staged) ||
		filepath.Dir(j.Path) != filepath.Dir(j.Staged):
		return errors.New("path and staged must be absolute, in one directory")
	case !strings.HasPrefix(filepath.Base(j.Staged), mirror.DownloadPrefix):
		// Undoing an install removes the staged file: never another one.
		return fmt.Errorf("staged file %s is not a download (%s*)", filepath.Base(j.Staged), mirror.DownloadPrefix)
	case !validDigest(j.New) || (j.Old != "" && !validDigest(j.Old)):
		return errors.New("old and new must be sha256:<hex> digests")
	}
	if j.ConfirmWithin < 1 || j.ConfirmWithin > maxConfirmWithin {
		return fmt.Errorf("confirmWithin %d is outside 1..%d seconds", j.ConfirmWithin, maxConfirmWithin)
	}
	if j.Step == stepCommitted || j.Step == stepRollBack {
		if _, err := time.Parse(time.RFC3339, j.Deadline); err != nil {
			return fmt.Errorf("deadline: %v", err)
		}
	} else if j.Deadline != "" {
		return fmt.Errorf("a deadline at step %s", j.Step)
	}
	if _, err := verifier.ParseState([]byte(j.NextState)); err != nil {
		return fmt.Errorf("nextState: %v", err)
	}
	if j.HadState {
		if _, err := verifier.ParseState([]byte(j.PrevState)); err != nil {
			return fmt.Errorf("prevState: %v", err)
		}
	}
	return nil
}

// write records j at step, atomically: a crash leaves the journal at the
// step before or at this one, never a mix.
func (j *journal) write(stateDir, step string) error {
	j.Step = step
	b, err := marshalJournal(j)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(journalPath(stateDir), b, 0o600); err != nil {
		return fmt.Errorf("recording step %s in %s: %w", step, journalPath(stateDir), err)
	}
	crash(step)
	return nil
}

func marshalJournal(j *journal) ([]byte, error) {
	b, err := strictjson.Marshal(j)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// removeJournal ends an install; the directory sync makes the end durable.
func removeJournal(stateDir string) error {
	if err := os.Remove(journalPath(stateDir)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return syncDir(stateDir)
}
