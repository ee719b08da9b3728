package report

import "testing"

// FuzzScrub: scrubbing is idempotent, and what it leaves has no URL with
// a user name, a password or a query.
func FuzzScrub(f *testing.F) {
	for _, s := range []string{`Get "https://a:b@m.example/x?t=1": EOF`, "http://u@h#f", "no url", "x://@@?#"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Scrub(s)
		if Scrub(out) != out {
			t.Fatalf("Scrub(%q) = %q, then %q", s, out, Scrub(out))
		}
		if urlUserinfo.MatchString(out) || urlQuery.MatchString(out) {
			t.Fatalf("Scrub(%q) = %q still holds credentials or a query", s, out)
		}
	})
}
