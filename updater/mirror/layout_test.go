package mirror

import (
	"bytes"
	"errors"
	"testing"
)

func TestParsePath(t *testing.T) {
	hex := "4a5c" + "000000000000000000000000000000000000000000000000000000000000"
	tests := []struct {
		path    string
		want    kind
		badName bool
	}{
		{"app/1.0.0.bundle", kindBundle, false},
		{"app/1.1.0-rc.1.bundle", kindBundle, false},
		{"app/latest", kindLatest, false},
		{"sha256/" + hex, kindArtifact, false},
		{"app/v1.0.0.bundle", kindBundle, true},
		{"app/1.0.bundle", kindBundle, true},
		{"app/1.0.0+build.bundle", kindBundle, true},
		{"../1.0.0.bundle", kindBundle, true},
		{"../latest", kindLatest, true},
		{"App/latest", kindLatest, true},
		{"sha256/..", kindArtifact, true},
		{"sha256/" + hex[:63], kindArtifact, true},
		{"sha256/" + "4A5C" + hex[4:], kindArtifact, true},
		{"", kindNone, false},
		{"app", kindNone, false},
		{"app/", kindNone, false},
		{"/app/latest", kindNone, false},
		{"app/../../etc/passwd", kindNone, false},
		{"app/1.0.0.bundle/x", kindNone, false},
		{"app/index.html", kindNone, false},
		{"sha256/" + hex + "/x", kindNone, false},
	}
	for _, tt := range tests {
		got, err := parsePath(tt.path)
		if got != tt.want || errors.Is(err, ErrName) != tt.badName || (err != nil && !tt.badName) {
			t.Errorf("parsePath(%q) = %v, %v; want %v, bad name %v", tt.path, got, err, tt.want, tt.badName)
		}
	}
}

func TestParseLatest(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" for an error
	}{
		{"1.0.0\n", "1.0.0"},
		{"2.10.3-rc.1\n", "2.10.3-rc.1"},
		{"1.0.0", ""},
		{"1.0.0\n\n", ""},
		{"1.0.0\r\n", ""},
		{" 1.0.0\n", ""},
		{"v1.0.0\n", ""},
		{"1.0\n", ""},
		{"01.0.0\n", ""},
		{"1.0.0+meta\n", ""},
		{"../../x\n", ""},
		{"\n", ""},
		{"", ""},
		{"1.0.0-" + string(bytes.Repeat([]byte("a"), 300)) + "\n", ""},
	}
	for _, tt := range tests {
		got, err := ParseLatest([]byte(tt.in))
		if tt.want == "" {
			if err == nil || !errors.Is(err, ErrLatest) {
				t.Errorf("ParseLatest(%q) = %q, %v; want ErrLatest", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseLatest(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// FuzzParseLatest: what parses is canonical (formatting it gives back the
// exact input), a safe file name and a valid bundle path; nothing longer
// than MaxLatestSize parses.
func FuzzParseLatest(f *testing.F) {
	for _, s := range []string{"1.0.0\n", "0.0.1-alpha.1\n", "1.0.0", "v1.0.0\n", "1.0.0\n\n", "../x\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ParseLatest(data)
		if err != nil {
			return
		}
		if !bytes.Equal(FormatLatest(v), data) {
			t.Fatalf("ParseLatest(%q) = %q, which formats as %q", data, v, FormatLatest(v))
		}
		if len(data) > MaxLatestSize {
			t.Fatalf("ParseLatest accepted %d bytes", len(data))
		}
		p, err := BundlePath("app", v)
		if err != nil {
			t.Fatalf("version %q parsed but has no bundle path: %v", v, err)
		}
		if k, err := parsePath(p); k != kindBundle || err != nil {
			t.Fatalf("bundle path %q of version %q is %v, %v", p, v, k, err)
		}
	})
}
