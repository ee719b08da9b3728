package rebuild

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"ssms.dev/ssms/internal/atomicfile"
)

// EvidenceDir is the directory of the work directory that a mismatch
// keeps: the rebuilt artifacts, as plain files, and the report.
const EvidenceDir = "rebuilt"

// keepEvidence keeps, after a mismatch, only what shows it: each rebuilt
// artifact copied into work/EvidenceDir as a regular, non-executable
// file (never following a symlink), any diffoscope reports already
// there, and report.txt; then it deletes everything else of work, the
// checkout first. A tree the build wrote into is hostile on the host: a
// git command run there obeys its .git (hooks, fsmonitor), a shell its
// .envrc. It returns the evidence directory.
func keepEvidence(work, src string, arts []Artifact) (string, error) {
	dir := filepath.Join(work, EvidenceDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for _, a := range arts {
		if a.Got == "" {
			continue
		}
		if err := copyRegular(filepath.Join(src, a.Name), filepath.Join(dir, a.Name)); err != nil {
			return "", fmt.Errorf("keeping the rebuilt %s: %w", a.Name, err)
		}
	}
	if err := atomicfile.Write(filepath.Join(dir, "report.txt"), []byte(Report(arts)), 0o644); err != nil {
		return "", err
	}
	entries, err := os.ReadDir(work)
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		if e.Name() != EvidenceDir {
			if err := os.RemoveAll(filepath.Join(work, e.Name())); err != nil {
				return "", err
			}
		}
	}
	return dir, nil
}

// copyRegular copies the regular file from to the new file to, mode
// 0644, refusing anything but a regular file.
func copyRegular(from, to string) error {
	f, err := os.OpenFile(from, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is %w", filepath.Base(from), ErrNotRegular)
	}
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, f)
	return errors.Join(err, out.Close())
}
