package rebuild

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

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
		if fi, err := os.Stat(path); err == nil {
			a.Size = fi.Size()
			if d, err := manifest.DigestFile(path, nil); err == nil {
				a.Got = d.SHA256
			}
		}
		a.Reproduced = a.Match()
		if !a.Reproduced {
			all = false
			if pub, ok := published[s.Name]; ok {
				a.Published = pub
				a.PubSize, a.FirstDiff = firstDiff(pub, path)
				a.Diffo = diffoscope(pub, path, filepath.Join(reportDir, s.Name+".diffoscope.txt"))
			}
		}
		out = append(out, a)
	}
	return out, all
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

// diffoscope writes a diffoscope report if diffoscope is installed.
func diffoscope(a, b, report string) string {
	if _, err := exec.LookPath("diffoscope"); err != nil {
		return ""
	}
	exec.Command("diffoscope", "--text", report, a, b).Run() // exits 1 on differences
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
