package manifest

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// sizedRelease is exampleRelease with signed sizes.
func sizedRelease(t *testing.T, sizes ...int64) []byte {
	t.Helper()
	st, _ := exampleRelease()
	for i := range st.Subject {
		st.Subject[i].Annotations = &Annotations{Size: sizes[i]}
	}
	b, err := MarshalRelease(st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSignedSizesRoundTrip(t *testing.T) {
	b := sizedRelease(t, 0, 12345)
	if !bytes.Contains(b, []byte(`"annotations":{"size":12345}`)) {
		t.Fatalf("size not recorded: %s", b)
	}
	st, err := ParseRelease(b)
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := st.Subject[0].Size(); !ok || n != 0 {
		t.Fatalf("subject 0 size = %d, %v; want 0, true", n, ok)
	}
	again, _ := MarshalRelease(st)
	if !bytes.Equal(again, b) {
		t.Fatalf("round trip changed bytes:\n%s\n%s", b, again)
	}
	var in intoto.Statement
	if err := protojson.Unmarshal(b, &in); err != nil {
		t.Fatalf("in-toto cannot read a statement with sizes: %v", err)
	}
	if err := in.Validate(); err != nil {
		t.Fatalf("in-toto rejects a statement with sizes: %v", err)
	}
	if got := in.Subject[1].Annotations.Fields["size"].GetNumberValue(); got != 12345 {
		t.Fatalf("in-toto reads size %v", got)
	}
}

// TestUnsizedReleaseStillReadable: statements signed before sizes were
// recorded keep verifying, and say they have no size.
func TestUnsizedReleaseStillReadable(t *testing.T) {
	_, b := exampleRelease()
	st, err := ParseRelease(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.Subject[0].Size(); ok {
		t.Fatal("an unsized subject reports a size")
	}
}

func TestSignedSizesRefused(t *testing.T) {
	good := string(sizedRelease(t, 7, 12345))
	for name, tc := range map[string]struct{ from, to, want string }{
		"negative":          {`{"size":7}`, `{"size":-7}`, "annotations.size"},
		"over the limit":    {`{"size":7}`, `{"size":17179869185}`, "annotations.size"},
		"empty annotations": {`{"size":7}`, `{}`, "canonical"},
		"unknown field":     {`{"size":7}`, `{"size":7,"mtime":1}`, "mtime"},
		"size as a string":  {`{"size":7}`, `{"size":"7"}`, "size"},
		"fraction":          {`{"size":7}`, `{"size":7.5}`, "size"},
		"exponent":          {`{"size":7}`, `{"size":7e0}`, ""},
		"null":              {`{"size":7}`, `null`, ""},
	} {
		t.Run(name, func(t *testing.T) {
			bad := strings.Replace(good, tc.from, tc.to, 1)
			if bad == good {
				t.Fatal("test did not change the statement")
			}
			_, err := ParseRelease([]byte(bad))
			if err == nil {
				t.Fatalf("accepted %s", tc.to)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestDigestCapped(t *testing.T) {
	d, n, err := DigestCapped(strings.NewReader("abc"), 3)
	if err != nil || n != 3 || d.SHA256 != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("DigestCapped(abc, 3) = %v, %d, %v", d, n, err)
	}
	if _, n, err := DigestCapped(strings.NewReader("abcd"), 3); !errors.Is(err, ErrTooLong) || n != 4 {
		t.Fatalf("DigestCapped(abcd, 3) = %d, %v; want ErrTooLong after 4 bytes", n, err)
	}
}

// TestAttackEndlessArtifact: an artifact that never ends (a hostile mirror's
// stream) is cut off one byte after its signed size.
func TestAttackEndlessArtifact(t *testing.T) {
	endless := &countingReader{}
	if _, _, err := DigestCapped(endless, 1<<20); !errors.Is(err, ErrTooLong) {
		t.Fatalf("endless stream: %v", err)
	}
	if endless.n > 1<<20+hashBuffer {
		t.Fatalf("read %d bytes of an endless stream capped at 1 MiB", endless.n)
	}
}

type countingReader struct{ n int64 }

func (c *countingReader) Read(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

var _ io.Reader = (*countingReader)(nil)
