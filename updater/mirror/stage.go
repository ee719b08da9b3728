package mirror

import (
	"crypto/sha256"
	"encoding/hex"
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
)

// copyBuffer matches manifest's hashing buffer: large enough that the
// per-call cost vanishes next to SHA-256, small enough to keep memory flat.
const copyBuffer = 1 << 20

// stage copies r into a new temporary file in dir while hashing it,
// reading at most size+1 bytes, and keeps the file, synced, only if it is
// exactly size bytes with digest d. On any failure the file is removed.
func stage(dir string, r io.Reader, d manifest.Digest, size int64) (name string, err error) {
	f, err := os.CreateTemp(dir, ".ssms-download-*")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	h := sha256.New()
	// Hide any ReaderFrom/WriterTo so our buffer, and our limit, is used.
	w := struct{ io.Writer }{io.MultiWriter(f, h)}
	n, err := io.CopyBuffer(w, struct{ io.Reader }{io.LimitReader(r, size+1)}, make([]byte, copyBuffer))
	switch {
	case err != nil:
		return "", err
	case n > size:
		return "", fmt.Errorf("%w (%d bytes)", ErrTooLong, size)
	case n < size:
		return "", fmt.Errorf("%w: %d of %d bytes", ErrTooShort, n, size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != d.SHA256 {
		return "", fmt.Errorf("%w: sha256:%s, want sha256:%s", ErrDigest, got, d.SHA256)
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	return f.Name(), f.Close()
}
