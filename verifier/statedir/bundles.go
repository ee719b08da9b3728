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

// ReadBundle reads the bundle with digest from dir, at most
// verifier.MaxBundleSize bytes, and checks that it hashes to its name.
func ReadBundle(dir, digest string) ([]byte, error) {
	path, err := BundlePath(dir, digest)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrBundleMissing, path)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
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
