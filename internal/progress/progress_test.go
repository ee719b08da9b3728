package progress

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestNotATerminal(t *testing.T) {
	r := strings.NewReader("data")
	var out bytes.Buffer
	if Reader(r, 4, "x", &out) != io.Reader(r) {
		t.Fatal("a non-terminal got a progress bar")
	}
}

func TestDraw(t *testing.T) {
	var out bytes.Buffer
	p := &reader{r: strings.NewReader(strings.Repeat("a", 3<<20)), size: 3 << 20, label: "hashing x", out: &out}
	if _, err := io.Copy(io.Discard, p); err != nil {
		t.Fatal(err)
	}
	last := out.String()[strings.LastIndex(out.String(), "\r")+1:]
	if want := "hashing x [==============================] 100% 3.0 MiB / 3.0 MiB\n"; last != want {
		t.Fatalf("final line %q, want %q", last, want)
	}
}
