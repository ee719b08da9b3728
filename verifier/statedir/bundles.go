package statedir

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"ssms.dev/ssms/internal/atomicfile"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/verifier"
)

// bundleDir holds the bundles of installed releases, named by digest, so
// that the start-up self-check can verify the binary it runs again.
const bundleDir = "bundles"

// ErrBundleMissing is a bundle the state names but the directory lacks.
var ErrBundleMissing = errors.New("the installed bundle is missing from the state directory")

// BundlePath is where the bundle with digest (sha256:<hex>) is kept.
func BundlePath(dir, digest string) (string, error) {
	hex, ok := strings.CutPrefix(digest, "sha256:")
	if !ok || len(hex) != 64 || strings.Trim(hex, "0123456789abcdef") != "" {
		return "", fmt.Errorf("not a bundle digest: %q", digest)
	}
	return filepath.Join(dir, bundleDir, "sha256-"+hex+".bundle"), nil
}

// SaveBundle keeps data under its digest, durably, before the state that
// names it is saved: the state never names a bundle that is not there.
// Saving the same bundle twice is not an error.
func (d *Dir) SaveBundle(data []byte) (string, error) {
	digest := "sha256:" + manifest.DigestBytes(data).SHA256
	path, _ := BundlePath(d.path, digest)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	err := atomicfile.Create(path, data, 0o644)
	if errors.Is(err, fs.ErrExist) {
		if have, rerr := ReadBundle(d.path, digest); rerr == nil && bytes.Equal(have, data) {
			return digest, nil
		}
		// A damaged copy under the right name: replace it.
		err = atomicfile.Write(path, data, 0o644)
	}
	return digest, err
}

// ErrNotRegular means a saved bundle is not a regular file.
var ErrNotRegular = errors.New("not a regular file")

// ReadBundle reads the bundle with digest from dir, at most
// verifier.MaxBundleSize bytes, and checks that it hashes to its name.
func ReadBundle(dir, digest string) ([]byte, error) {
	path, err := BundlePath(dir, digest)
	if err != nil {
		return nil, err
	}
	// Only a regular file: a FIFO would block the open (and the program
	// starting, which holds the state directory's lock) for ever, a link
	// would read another file than the one the install saved.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrBundleMissing, path)
	}
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%s: %w (a symbolic link)", path, ErrNotRegular)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		if err == nil {
			err = fmt.Errorf("%s: %w (%v)", path, ErrNotRegular, fi.Mode().Type())
		}
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, verifier.MaxBundleSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > verifier.MaxBundleSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, verifier.MaxBundleSize)
	}
	if got := "sha256:" + manifest.DigestBytes(b).SHA256; got != digest {
		return nil, fmt.Errorf("%s: damaged: it hashes to %s", path, got)
	}
	return b, nil
}
