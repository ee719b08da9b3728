package b64

import (
	"encoding/base64"
	"testing"
)

func TestStd(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"", true},
		{"AAAA", true},
		{"AA==", true},
		{"AB==", false},   // non-zero padding bits
		{"AA", false},     // padding missing
		{"AA\r==", false}, // the line break encoding/base64 skips
		{"AA\n==", false},
		{"\rAAAA", false},
		{"AAAA\n", false},
		{"AA=A", false},
		{"A-_A", false}, // URL alphabet
		{" AAAA", false},
	} {
		_, err := Std(tc.in)
		if got := err == nil; got != tc.ok {
			t.Errorf("Std(%q): accepted = %v, want %v (err %v)", tc.in, got, tc.ok, err)
		}
	}
}

func TestRawURL(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"", true},
		{"-_8", true},
		{"AA==", false},
		{"AB", false},
		{"A\nA", false},
		{"+/8", false},
	} {
		_, err := RawURL(tc.in)
		if got := err == nil; got != tc.ok {
			t.Errorf("RawURL(%q): accepted = %v, want %v (err %v)", tc.in, got, tc.ok, err)
		}
	}
}

// FuzzStd holds Std to its contract: whatever it accepts re-encodes to
// exactly the input, and whatever re-encodes to the input is accepted.
func FuzzStd(f *testing.F) {
	for _, s := range []string{"", "AAAA", "AA==", "AA\r==", "000\r0000000000000000000000000000000000000000="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := Std(s)
		ref, refErr := base64.StdEncoding.Strict().DecodeString(s)
		canonical := refErr == nil && base64.StdEncoding.EncodeToString(ref) == s
		if (err == nil) != canonical {
			t.Fatalf("Std(%q): err = %v, canonical = %v", s, err, canonical)
		}
		if err == nil && base64.StdEncoding.EncodeToString(b) != s {
			t.Fatalf("Std(%q) re-encodes to %q", s, base64.StdEncoding.EncodeToString(b))
		}
	})
}

func FuzzRawURL(f *testing.F) {
	for _, s := range []string{"", "-_8", "A\nA", "AB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := RawURL(s)
		ref, refErr := base64.RawURLEncoding.Strict().DecodeString(s)
		canonical := refErr == nil && base64.RawURLEncoding.EncodeToString(ref) == s
		if (err == nil) != canonical {
			t.Fatalf("RawURL(%q): err = %v, canonical = %v", s, err, canonical)
		}
		if err == nil && base64.RawURLEncoding.EncodeToString(b) != s {
			t.Fatalf("RawURL(%q) re-encodes differently", s)
		}
	})
}
