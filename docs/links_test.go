package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// TestLinksResolveInAClone: every link in README.md and docs/*.md is to a
// web address or to a file of this repository that exists.
func TestLinksResolveInAClone(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("*.md")
	files = append(files, "../README.md")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range mdLink.FindAllStringSubmatch(string(b), -1) {
			target, _, _ := strings.Cut(m[1], "#")
			if target == "" || strings.HasPrefix(target, "https://") || strings.HasPrefix(target, "http://") {
				continue
			}
			abs, _ := filepath.Abs(filepath.Join(filepath.Dir(f), target))
			if rel, err := filepath.Rel(root, abs); err != nil || strings.HasPrefix(rel, "..") || filepath.IsAbs(target) {
				t.Errorf("%s: link %s leaves the repository", f, m[1])
			} else if _, err := os.Stat(abs); err != nil {
				t.Errorf("%s: link %s: %v", f, m[1], err)
			}
		}
	}
}
