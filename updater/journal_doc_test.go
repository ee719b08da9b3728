package updater

import (
	"os"
	"strings"
	"testing"
)

// TestJournalExample parses the install journal shown in docs/formats.md
// (the block marked check=journal), so that the page cannot drift from
// the format; docs.TestFormatExamples checks the other blocks.
func TestJournalExample(t *testing.T) {
	b, err := os.ReadFile("../docs/formats.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), " check=journal\n")
	example, _, closed := strings.Cut(rest, "```\n")
	if !ok || !closed {
		t.Fatal("docs/formats.md has no check=journal block")
	}
	j, err := parseJournal([]byte(example))
	if err != nil {
		t.Fatal(err)
	}
	if j.Step != stepCommitted || j.Product == "" {
		t.Fatalf("the example parsed as %+v", j)
	}
}
