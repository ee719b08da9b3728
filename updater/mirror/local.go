package mirror

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"syscall"
)

// ErrNotRegular means a directory mirror's file is a symbolic link, a
// FIFO, a device or a directory: something a mirror has no reason to
// hold, and that could make the client read a file outside the mirror
// (into a failure report) or block for ever.
var ErrNotRegular = errors.New("not a regular file")

// openLocal opens the layout path p of the directory mirror dir: a
// regular file, reached through no symbolic link below dir. os.Root keeps
// every open under dir, whatever a link says; the Lstat checks refuse the
// links themselves (a link swapped in between them and the open can only
// name another file of the same mirror, which its writer could have put
// there anyway). O_NONBLOCK keeps a FIFO from blocking the open, and the
// fstat after it refuses what is not a regular file. Errors name p, not
// dir: a local path may name the user, and errors go into reports.
func openLocal(dir, p string) (*os.File, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("the mirror's directory: %w", unwrapPath(err))
	}
	defer root.Close()
	if sub := path.Dir(p); sub != "." {
		fi, err := root.Lstat(sub)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, ErrNotFound
		case err != nil:
			return nil, fmt.Errorf("%s: %w", sub, unwrapPath(err))
		case !fi.IsDir():
			return nil, fmt.Errorf("%s: %w: %v", sub, ErrNotRegular, fi.Mode().Type())
		}
	}
	fi, err := root.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, ErrNotFound
	case err != nil:
		return nil, unwrapPath(err)
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("%w: %v", ErrNotRegular, fi.Mode().Type())
	}
	f, err := root.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, unwrapPath(err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err != nil {
			return nil, unwrapPath(err)
		}
		return nil, fmt.Errorf("%w: %v", ErrNotRegular, fi.Mode().Type())
	}
	return f, nil
}

// unwrapPath drops the path an os error carries (the mirror's local
// directory), keeping what went wrong.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
