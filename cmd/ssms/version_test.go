package main

import (
	"runtime"
	"strings"
	"testing"
)

// TestVersionLine checks that the -X values reach the output.
func TestVersionLine(t *testing.T) {
	oldV, oldC := version, commit
	t.Cleanup(func() { version, commit = oldV, oldC })
	version, commit = "1.2.3", "0123abcd"
	got := versionLine()
	if want := "ssms 1.2.3 (commit 0123abcd, "; !strings.HasPrefix(got, want) || !strings.Contains(got, runtime.Version()[:4]) {
		t.Fatalf("versionLine() = %q, want prefix %q and the Go version", got, want)
	}
}
