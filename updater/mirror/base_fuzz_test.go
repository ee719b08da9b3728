package mirror

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseBase: ParseBase accepts what it returns, unchanged (a base
// is parsed once, by the command, and again by each request), refuses
// only with ErrBase, and Redact leaves no user name or password.
func FuzzParseBase(f *testing.F) {
	for _, s := range []string{"file:///srv/m", "https://a:b@m.example/x", "ftp://x", "./m", "file://h/x", "http://", "HTTPS://M.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		base, err := ParseBase(s)
		if err != nil {
			if !errors.Is(err, ErrBase) {
				t.Fatalf("ParseBase(%q): %v is not ErrBase", s, err)
			}
			return
		}
		again, err := ParseBase(base)
		if err != nil || again != base {
			t.Fatalf("ParseBase(%q) = %q, then %q, %v", s, base, again, err)
		}
		if r := Redact(base); Remote(base) && strings.Contains(strings.SplitN(strings.SplitN(r, "://", 2)[1], "/", 2)[0], "@") {
			t.Fatalf("Redact(%q) = %q keeps a user", base, r)
		}
	})
}
