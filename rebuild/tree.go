package rebuild

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// The limits of a checkout, checked on the commit's tree before a file
// is written: the clone and checkout run on the host, outside the
// sandbox, and a small repository can expand to any number of files
// (a "git bomb" of trees that repeat one another) or bytes (one
// repetitive blob compresses a thousandfold). This project's tree is
// some hundreds of files and a few MiB; a large Go project's (kubernetes)
// some 25,000 files and a few hundred MiB.
const (
	MaxTreeEntries = 100_000
	MaxTreeBytes   = 2 << 30
)

// ErrTreeTooLarge means the commit's tree is over MaxTreeEntries files or
// MaxTreeBytes bytes; it is not checked out.
var ErrTreeTooLarge = errors.New("the source tree is too large to check out")

// checkTree lists the tree of commit in the repository at dir (git ls-tree
// -r -l -z: "MODE TYPE OBJECT SIZE\tPATH\x00" per file), and refuses it
// past the limits, stopping git as soon as one is passed.
func checkTree(ctx context.Context, dir, commit string) error {
	var files, size int64
	err := gitRun(ctx, dir, []string{"ls-tree", "-r", "-l", "-z", "--full-tree", commit}, func(r io.Reader) error {
		br := bufio.NewReader(r)
		for {
			rec, err := br.ReadSlice(0)
			if err == io.EOF && len(rec) == 0 {
				return nil
			}
			if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
				return err
			}
			// A path longer than the buffer: the rest of it is skipped.
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice(0)
			}
			files++
			meta, _, _ := bytes.Cut(rec, []byte("\t"))
			if f := bytes.Fields(meta); len(f) == 4 {
				if n, err := strconv.ParseInt(string(f[3]), 10, 64); err == nil { // "-" for a submodule
					size += n
				}
			}
			if files > MaxTreeEntries {
				return fmt.Errorf("%w: more than %d files (the limit)", ErrTreeTooLarge, MaxTreeEntries)
			}
			if size > MaxTreeBytes {
				return fmt.Errorf("%w: more than %d bytes (the limit, 2 GiB)", ErrTreeTooLarge, int64(MaxTreeBytes))
			}
		}
	})
	if err != nil {
		return fmt.Errorf("commit %s: %w", commit, err)
	}
	return nil
}
