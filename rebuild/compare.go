package rebuild

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"ssms.dev/ssms/internal/sandbox"
	"ssms.dev/ssms/manifest"
)

// Artifact is one artifact's comparison.
type Artifact struct {
	Name       string `json:"name"`
	Want       string `json:"release"`                 // sha256 in the release
	Got        string `json:"rebuilt"`                 // sha256 rebuilt ("" if the recipe made no such file)
	Size       int64  `json:"size"`                    // rebuilt size
	Reproduced bool   `json:"reproduced"`              // Got == Want
	Published  string `json:"published,omitempty"`     // path of the published file, if given
	PubSize    int64  `json:"publishedSize,omitempty"` // its size
	FirstDiff  int64  `json:"firstDifference"`         // first differing byte offset, with the published file; -1 if unknown
	Diffo      string `json:"diffoscope,omitempty"`    // diffoscope report path, if diffoscope ran
	Problem    string `json:"problem,omitempty"`       // why there is no rebuilt digest
}

// Match reports whether the artifact rebuilt bit for bit.
func (a Artifact) Match() bool { return a.Got != "" && a.Got == a.Want }

// Compare hashes each subject's rebuilt file in src. published maps
// artifact names to the published files, used only to explain mismatches.
func Compare(subjects []manifest.Subject, src string, published map[string]string, reportDir string) ([]Artifact, bool) {
	all := true
	var out []Artifact
	for _, s := range subjects {
		a := Artifact{Name: s.Name, Want: s.Digest.SHA256, FirstDiff: -1}
		path := filepath.Join(src, s.Name)
		if d, size, err := digestRegular(path); err == nil {
			a.Got, a.Size = d.SHA256, size
		} else if !errors.Is(err, fs.ErrNotExist) {
			a.Problem = err.Error()
		}
		a.Reproduced = a.Match()
		if !a.Reproduced {
			all = false
			if pub, ok := published[s.Name]; ok && a.Got != "" {
				a.Published = pub
				a.PubSize, a.FirstDiff = firstDiff(pub, path)
				a.Diffo = diffoscope(pub, path, filepath.Join(reportDir, s.Name+".diffoscope.txt"))
			}
		}
		out = append(out, a)
	}
	return out, all
}

// ErrNotRegular means an artifact path is a symlink, device, directory
// or anything else than a regular file: a symlink to /dev/zero would
// never end, one to a published file would be "reproduced".
var ErrNotRegular = errors.New("not a regular file")

// digestRegular hashes the regular file at path, never following a
// symlink and never blocking on a FIFO or device.
func digestRegular(path string) (manifest.Digest, int64, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return manifest.Digest{}, 0, err
	}
	if !fi.Mode().IsRegular() {
		return manifest.Digest{}, 0, fmt.Errorf("%s is %w (%v)", filepath.Base(path), ErrNotRegular, fi.Mode().Type())
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return manifest.Digest{}, 0, err
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil || !fi.Mode().IsRegular() { // swapped since the Lstat
		return manifest.Digest{}, 0, fmt.Errorf("%s is %w", filepath.Base(path), ErrNotRegular)
	}
	d, n, err := manifest.DigestReader(f)
	return d, n, err
}

// ErrInCheckout means an artifact is in the source before the build: a
// committed binary would otherwise be "reproduced".
var ErrInCheckout = errors.New("is in the source before the build; an artifact must be built, not committed")

// CheckFresh refuses a checkout src in which any of the artifact names
// already exists (as a file, a symlink or anything else).
func CheckFresh(src string, names []string) error {
	for _, name := range names {
		if _, err := os.Lstat(filepath.Join(src, name)); !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("artifact %s %w", name, ErrInCheckout)
		}
	}
	return nil
}

// firstDiff returns the size of a and the first offset where a and b differ.
func firstDiff(a, b string) (int64, int64) {
	fa, err1 := os.Open(a)
	fb, err2 := os.Open(b)
	if err1 != nil || err2 != nil {
		return 0, -1
	}
	defer fa.Close()
	defer fb.Close()
	fi, _ := fa.Stat()
	ra, rb := bufio.NewReader(fa), bufio.NewReader(fb)
	for off := int64(0); ; off++ {
		x, e1 := ra.ReadByte()
		y, e2 := rb.ReadByte()
		if e1 == io.EOF && e2 == io.EOF {
			return fi.Size(), -1
		}
		if x != y || e1 != e2 {
			return fi.Size(), off
		}
	}
}

// diffoscopeTimeout bounds a diffoscope run.
const diffoscopeTimeout = 10 * time.Minute

// diffoscope writes a diffoscope report if diffoscope is installed and
// the sandbox works: both files are the release's, and diffoscope opens
// archives and runs dozens of tools on them, so it runs in the sandbox
// (no network, the two files read-only, only the report's directory
// writable, as uid 65534 when run by root), or not at all.
func diffoscope(a, b, report string) string {
	prog, err := exec.LookPath("diffoscope")
	if err != nil || sandbox.Available() != nil {
		return ""
	}
	if prog, err = filepath.Abs(prog); err != nil {
		return ""
	}
	dir := filepath.Dir(report)
	c := &sandbox.Config{
		Argv: []string{prog, "--text", report, a, b}, Dir: dir,
		Env:      []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"},
		ReadOnly: []string{filepath.Dir(prog)}, Writable: []string{dir}, Protect: []string{a, b},
		Timeout: diffoscopeTimeout,
	}
	c.Run(context.Background()) // exits 1 on differences
	if _, err := os.Stat(report); err != nil {
		return ""
	}
	return report
}

// Report describes a mismatch for people.
func Report(arts []Artifact) string {
	var b strings.Builder
	for _, a := range arts {
		if a.Match() {
			fmt.Fprintf(&b, "%s: reproduced (sha256:%s)\n", a.Name, a.Got)
			continue
		}
		if a.Problem != "" {
			fmt.Fprintf(&b, "%s: %s\n", a.Name, a.Problem)
			continue
		}
		if a.Got == "" {
			fmt.Fprintf(&b, "%s: the recipe produced no file named %s\n", a.Name, a.Name)
			continue
		}
		fmt.Fprintf(&b, "%s: MISMATCH: release sha256:%s, rebuilt sha256:%s (%d bytes)", a.Name, a.Want, a.Got, a.Size)
		if a.Published != "" {
			fmt.Fprintf(&b, "; published file %d bytes", a.PubSize)
			if a.FirstDiff >= 0 {
				fmt.Fprintf(&b, ", first difference at byte %d", a.FirstDiff)
			}
		}
		if a.Diffo != "" {
			fmt.Fprintf(&b, "; diffoscope report: %s", a.Diffo)
		}
		b.WriteString("\n")
	}
	return b.String()
}
