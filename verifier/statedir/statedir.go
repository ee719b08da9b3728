// Package statedir keeps a verifier client's state in a directory:
// DIR/state.json, replaced atomically (write, fsync, rename, fsync of the
// directory) and only by the process holding DIR's lock, and the evidence
// files of forks the verifier proved.
package statedir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"ssms.dev/ssms/internal/atomicfile"
	"ssms.dev/ssms/internal/dirlock"
	"ssms.dev/ssms/translog"
	"ssms.dev/ssms/verifier"
)

const stateFile = "state.json"

// Dir is an open, locked state directory.
type Dir struct {
	path string
	lock *dirlock.Lock
}

// Open creates dir if needed and locks it: a second process using the
// same state would lose one of the two updates.
func Open(dir string) (*Dir, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	l, err := dirlock.Acquire(dir)
	if err != nil {
		return nil, err
	}
	return &Dir{path: dir, lock: l}, nil
}

// Close releases the lock.
func (d *Dir) Close() error { return d.lock.Release() }

// Path is the state file's path.
func (d *Dir) Path() string { return filepath.Join(d.path, stateFile) }

// Load reads the state; a directory without one is a client that has
// verified nothing yet. A file that does not parse is
// verifier.ErrStateCorrupt.
func (d *Dir) Load() (*verifier.State, error) { return Read(d.path) }

// Read reads the state in dir without locking it, for a reader that
// writes nothing (the start-up self-check): the file is replaced
// atomically, so it reads one whole version or the next.
func Read(dir string) (*verifier.State, error) {
	path := filepath.Join(dir, stateFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return verifier.NewState(), nil
	}
	if err != nil {
		return nil, err
	}
	st, err := verifier.ParseState(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return st, nil
}

// Save replaces the state with s, atomically.
func (d *Dir) Save(s *verifier.State) error {
	b, err := s.Marshal()
	if err != nil {
		return err
	}
	return atomicfile.Write(d.Path(), b, 0o600)
}

// SaveEvidence writes the evidence of a fork next to the state, under a
// name no other evidence has, and returns its path.
func (d *Dir) SaveEvidence(ev *translog.Evidence, now time.Time) (string, error) {
	base := filepath.Join(d.path, "fork-"+now.UTC().Format("20060102T150405Z"))
	for i := 0; ; i++ {
		path := base + ".evidence"
		if i > 0 {
			path = fmt.Sprintf("%s-%d.evidence", base, i)
		}
		err := atomicfile.Create(path, ev.Marshal(), 0o644)
		if !errors.Is(err, fs.ErrExist) {
			return path, err
		}
	}
}
