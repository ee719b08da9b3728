package mirror

import (
	"errors"
	"fmt"
	"io"
	"os"

	"ssms.dev/ssms/manifest"
)

// Errors of a download or a copy that does not match its release.
var (
	ErrTooLong  = manifest.ErrTooLong
	ErrTooShort = errors.New("shorter than its signed size")
	ErrDigest   = errors.New("digest does not match the release")
	ErrTooLarge = errors.New("larger than its limit")
	// ErrLocal marks a failure on the client's side of a download (the
	// install directory's disk), which says nothing about the mirror.
	ErrLocal = errors.New("in the install directory")
)

// DownloadPrefix begins the name of every download in an install
// directory: the updater takes no other file for one.
const DownloadPrefix = ".ssms-download-"

// localWriter marks the errors of writing the download as ErrLocal.
type localWriter struct{ f *os.File }

func (w localWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		err = fmt.Errorf("%w: %v", ErrLocal, err)
	}
	return n, err
}

// stage copies r into a new temporary file in dir while hashing it,
// reading at most size+1 bytes, and keeps the file, synced, only if it is
// exactly size bytes with digest d. On any failure the file is removed.
func stage(dir string, r io.Reader, d manifest.Digest, size int64) (name string, err error) {
	f, err := os.CreateTemp(dir, DownloadPrefix+"*")
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrLocal, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	got, n, err := manifest.DigestCapped(io.TeeReader(r, localWriter{f}), size)
	switch {
	case err != nil:
		return "", err
	case n < size:
		return "", fmt.Errorf("%w: %d of %d bytes", ErrTooShort, n, size)
	case got != d:
		return "", fmt.Errorf("%w: sha256:%s, want sha256:%s", ErrDigest, got.SHA256, d.SHA256)
	}
	if err := f.Sync(); err != nil {
		return "", fmt.Errorf("%w: %v", ErrLocal, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("%w: %v", ErrLocal, err)
	}
	return f.Name(), nil
}
