// Package atomicfile writes files so that a reader, or a crash, sees either
// the old content or the new, never a mix: the data goes to a temporary file
// in the same directory, is synced, and is renamed (or linked) into place;
// then the directory is synced so the new name itself survives a power loss.
package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// Write replaces path with data, created with mode perm.
func Write(path string, data []byte, perm os.FileMode) error {
	tmp, err := writeTemp(path, data, perm)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// Create writes path with data only if nothing is there yet, so that a key
// or a log is never overwritten. The check and the creation are one step:
// a hard link fails if the name exists.
func Create(path string, data []byte, perm os.FileMode) error {
	tmp, err := writeTemp(path, data, perm)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return &existsError{path}
		}
		return err
	}
	return SyncDir(filepath.Dir(path))
}

func writeTemp(path string, data []byte, perm os.FileMode) (name string, err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return "", err
	}
	if _, err = f.Write(data); err != nil {
		return "", err
	}
	if err = f.Sync(); err != nil {
		return "", err
	}
	return f.Name(), f.Close()
}

// SyncDir makes a rename (or a creation) in dir durable: until the
// directory itself is synced, a crash may forget the new name.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// existsError is fs.ErrExist, saying what a user needs to know.
type existsError struct{ path string }

func (e *existsError) Error() string { return e.path + " already exists; not overwriting it" }
func (e *existsError) Unwrap() error { return fs.ErrExist }

// RemoveTemps removes the temporary files a Write or Create of path left
// when its process was killed between creating and renaming them. Only
// the process that owns path (one holding its directory's lock) may call
// it: another's Write in progress would fail.
func RemoveTemps(path string) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	temps, err := filepath.Glob(filepath.Join(dir, "."+globEscape(base)+".tmp-*"))
	if err != nil {
		return err
	}
	for _, t := range temps {
		if err := os.Remove(t); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

func globEscape(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '*' || c == '?' || c == '[' || c == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return string(b)
}
