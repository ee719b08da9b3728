package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// readmeBlock is one ```sh block of README.md.
type readmeBlock struct {
	line int // of the opening fence
	text string
	skip string // why it is not run, from its first line "# not run: REASON"
}

var notRun = regexp.MustCompile(`^#\s*not run:\s*(.*)$`)

// readmeBlocks returns README's ```sh blocks in order.
func readmeBlocks(path string) ([]readmeBlock, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var blocks []readmeBlock
	var cur *readmeBlock
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		switch {
		case cur == nil && l == "```sh":
			cur = &readmeBlock{line: n}
		case cur != nil && l == "```":
			if m := notRun.FindStringSubmatch(strings.SplitN(cur.text, "\n", 2)[0]); m != nil {
				cur.skip = strings.TrimSpace(m[1])
			}
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.text += l + "\n"
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("%s:%d: the sh block is not closed", path, cur.line)
	}
	return blocks, sc.Err()
}

// TestREADME runs README.md's sh blocks, top to bottom, in one bash in an
// empty directory, with this ssms on PATH, so the README cannot drift from
// what the commands do. The ports the README uses are swapped for free
// ones so that the test can run beside others; nothing else is changed.
func TestREADME(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("README waits for its servers with curl, which is not installed (./scripts/test installs it)")
	}
	blocks, err := readmeBlocks("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var script strings.Builder
	// Servers the README starts with & are stopped whatever happens.
	script.WriteString("set -euo pipefail -x\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n")
	run := 0
	for _, b := range blocks {
		if b.skip != "" || notRun.MatchString(strings.SplitN(b.text, "\n", 2)[0]) {
			if b.skip == "" {
				t.Errorf("README.md:%d: a block not run must say why: # not run: REASON", b.line)
			}
			continue
		}
		fmt.Fprintf(&script, "# README.md:%d\n%s", b.line, b.text)
		run++
	}
	if run < 10 {
		t.Fatalf("only %d sh blocks to run in README.md: has its format changed?", run)
	}
	text := script.String()
	for _, port := range []string{"8070", "8080", "8090"} {
		addr, err := freeAddr()
		if err != nil {
			t.Fatal(err)
		}
		text = strings.ReplaceAll(text, "127.0.0.1:"+port, addr)
	}
	dir := t.TempDir()
	archive := "exec bash readme.sh\n\n-- readme.sh --\n" + text
	if err := os.WriteFile(filepath.Join(dir, "readme.txtar"), []byte(archive), 0o644); err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: dir,
		Setup: func(e *testscript.Env) error {
			e.Setenv("SSMS_PASSWORD", "readme-test-passphrase")
			return nil
		},
	})
}

// TestReadmeBlocks checks the extraction itself on a small README.
func TestReadmeBlocks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "README.md")
	os.WriteFile(path, []byte("# x\n\n```sh\nssms key id a.pub\n```\n\n    indented: not run\n\n```sh\n# not run: needs root\napt-get install x\n```\n```go\nnot sh\n```\n"), 0o644)
	blocks, err := readmeBlocks(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 2 || blocks[0].text != "ssms key id a.pub\n" || blocks[0].skip != "" || blocks[1].skip != "needs root" || blocks[1].line != 9 {
		t.Fatalf("got %+v", blocks)
	}
	os.WriteFile(path, []byte("```sh\nssms\n"), 0o644)
	if _, err := readmeBlocks(path); err == nil {
		t.Fatal("an unclosed block was accepted")
	}
}
