package trillianlog

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzBundlePrefix checks bundlePrefix, which cuts a stored entry bundle to
// a published width: on any bytes it returns a prefix of them or an error;
// on a bundle it built from entries it returns exactly the bundle of the
// first w of them.
func FuzzBundlePrefix(f *testing.F) {
	f.Add([]byte("\x00\x01a\x00\x02bc"), 1)
	f.Add([]byte("\x00\x00\x00\x00"), 2)
	f.Add([]byte("\x00\x05ab"), 1)
	f.Fuzz(func(t *testing.T, b []byte, w int) {
		if w < 0 || w > 256 {
			return
		}
		if p, err := bundlePrefix(b, w); err == nil && !bytes.HasPrefix(b, p) {
			t.Fatalf("bundlePrefix(%x, %d) = %x, not a prefix", b, w, p)
		}
		// The same bytes read as entries split at every third byte.
		var entries [][]byte
		for i := 0; i < len(b); i += 3 {
			entries = append(entries, b[i:min(i+3, len(b))])
		}
		var bundle, want []byte
		for i, e := range entries {
			bundle = binary.BigEndian.AppendUint16(bundle, uint16(len(e)))
			bundle = append(bundle, e...)
			if i+1 == w {
				want = bytes.Clone(bundle)
			}
		}
		p, err := bundlePrefix(bundle, w)
		switch {
		case w > len(entries):
			if err == nil {
				t.Fatalf("%d entries cut to %d: no error", len(entries), w)
			}
		case err != nil:
			t.Fatal(err)
		case w == 0 && len(p) != 0, w > 0 && !bytes.Equal(p, want):
			t.Fatalf("prefix of %d entries: %x, want %x", w, p, want)
		}
	})
}
