package updater

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"ssms.dev/ssms/internal/atomicfile"
	"ssms.dev/ssms/manifest"
)

// MaxBinarySize bounds the binary at PATH and PATH.previous, which are
// hashed to learn which version is in place.
const MaxBinarySize = 1 << 30

// Test hooks, plain calls in production. crash is called after each named
// point of an install and a roll-back (the SIGKILL tests kill the process
// there); rename and syncDir let the power-cut test see which renames a
// directory sync made durable.
var (
	crash   = func(point string) {}
	rename  = os.Rename
	syncDir = atomicfile.SyncDir
)

// previousPath is where the binary an install replaced is kept.
func previousPath(path string) string { return path + ".previous" }

// linkTemp is the temporary name PATH is linked to before it is renamed to
// PATH.previous; fixed, so Recover finds and removes a leftover one.
func linkTemp(path string) string {
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".previous.tmp")
}

func digestString(d manifest.Digest) string { return "sha256:" + d.SHA256 }

func validDigest(s string) bool {
	h, ok := strings.CutPrefix(s, "sha256:")
	if !ok || len(h) != 64 {
		return false
	}
	for _, c := range h {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// fileDigest hashes the file at path, at most limit bytes, as
// sha256:<hex>; "" with no error when there is no file.
func fileDigest(path string, limit int64) (string, int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", 0, nil
	}
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	d, n, err := manifest.DigestCapped(f, limit)
	if err != nil {
		return "", n, fmt.Errorf("hashing %s: %w", path, err)
	}
	return digestString(d), n, nil
}

// syncFile makes the content and mode of the file at path durable.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
