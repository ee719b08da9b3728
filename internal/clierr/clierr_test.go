package clierr

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestReport(t *testing.T) {
	base := errors.New("the file is missing")
	var b strings.Builder
	Report(&b, "ssms", fmt.Errorf("reading x: %w", Hint(base, "create it first")))
	if got, want := b.String(), "ssms: error: reading x: the file is missing\nssms: hint: create it first\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	b.Reset()
	Report(&b, "smp-client", base)
	if got := b.String(); got != "smp-client: error: the file is missing\n" {
		t.Fatalf("got %q", got)
	}
	if !errors.Is(Hint(base, "h"), base) {
		t.Fatal("a hinted error does not unwrap")
	}

	// A security refusal says what it may mean; its action is the hint
	// unless the error carries a more specific one.
	b.Reset()
	Report(&b, "ssms", Security(base, "it may be forged", "do not run it"))
	if got, want := b.String(), "ssms: error: the file is missing\nssms: SECURITY ERROR: it may be forged\nssms: hint: do not run it\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	b.Reset()
	Report(&b, "ssms", Security(Hint(base, "the evidence is in F"), "it may be forged", "do not run it"))
	if got, want := b.String(), "ssms: error: the file is missing\nssms: SECURITY ERROR: it may be forged\nssms: hint: the evidence is in F\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
