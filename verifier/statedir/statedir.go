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
	"syscall"
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
	if err := CheckOwner(dir); err != nil {
		return nil, err
	}
	l, err := dirlock.Acquire(dir)
	if err != nil {
		return nil, err
	}
	return &Dir{path: dir, lock: l}, nil
}

// ErrNotOwner is a state directory or file that another user could
// change: its journal tells the updater which files to rename and remove
// beside the binary, so only its owner may act on it.
var ErrNotOwner = errors.New("not owned by this user, or writable by others")

// CheckOwner checks that path (a directory or a file, not a symbolic
// link) belongs to the effective user and that neither its group nor
// others may write it, as OpenSSH checks its files: root running an
// update must not act on a journal a service account could forge.
func CheckOwner(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%s: %w: it is a symbolic link", path, ErrNotOwner)
	case ok && int(st.Uid) != os.Geteuid():
		return fmt.Errorf("%s: %w: it belongs to uid %d, this process runs as uid %d; run as its owner (or chown it)", path, ErrNotOwner, st.Uid, os.Geteuid())
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("%s: %w: its mode is %v; chmod go-w it", path, ErrNotOwner, fi.Mode().Perm())
	}
	return nil
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
