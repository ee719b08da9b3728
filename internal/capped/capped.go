// Package capped reads a whole file that must not exceed a size limit,
// never reading more than one byte past it: a file an attacker can grow
// (a mirror's, a state directory's) cannot exhaust memory.
package capped

import (
	"fmt"
	"io"
	"os"
)

// ReadFile reads path, at most limit bytes; a longer file is an error
// that names it.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than the limit of %d bytes", path, limit)
	}
	return b, nil
}
