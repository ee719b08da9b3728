package manifest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
)

// hashBuffer is large enough that the per-call overhead vanishes next to
// the SHA-256 work, small enough to keep memory flat for any file size.
const hashBuffer = 1 << 20

// DigestBytes hashes data held in memory.
func DigestBytes(data []byte) Digest {
	h := sha256.Sum256(data)
	return Digest{SHA256: hex.EncodeToString(h[:])}
}

// DigestReader hashes everything r yields in constant memory.
func DigestReader(r io.Reader) (Digest, int64, error) {
	h := sha256.New()
	// Hide any WriterTo (os.File has one) so our buffer size is the one used.
	n, err := io.CopyBuffer(h, struct{ io.Reader }{r}, make([]byte, hashBuffer))
	if err != nil {
		return Digest{}, n, err
	}
	return Digest{SHA256: hex.EncodeToString(h.Sum(nil))}, n, nil
}

// DigestFile hashes the file at path. wrap, if not nil, wraps the file's
// reader (for a progress bar) and is told the file's size.
func DigestFile(path string, wrap func(r io.Reader, size int64) io.Reader) (Digest, error) {
	f, err := os.Open(path)
	if err != nil {
		return Digest{}, err
	}
	defer f.Close()
	var r io.Reader = f
	if wrap != nil {
		fi, err := f.Stat()
		if err != nil {
			return Digest{}, err
		}
		r = wrap(f, fi.Size())
	}
	d, _, err := DigestReader(r)
	return d, err
}

// ErrTooLong means an artifact is longer than its signed size.
var ErrTooLong = errors.New("longer than its signed size")

// DigestCapped hashes r as DigestReader does, but reads at most limit+1
// bytes: data longer than limit is refused with ErrTooLong as soon as the
// extra byte arrives, however much more r would yield.
func DigestCapped(r io.Reader, limit int64) (Digest, int64, error) {
	d, n, err := DigestReader(io.LimitReader(r, limit+1))
	if err == nil && n > limit {
		return Digest{}, n, fmt.Errorf("%w (%d bytes)", ErrTooLong, limit)
	}
	return d, n, err
}
