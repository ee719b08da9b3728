package smp

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func read(t *testing.T, in string) (*Transmission, error) {
	t.Helper()
	return NewReader(strings.NewReader(in)).Read()
}

func TestReadLimits(t *testing.T) {
	if _, err := read(t, "\n\n"+strings.Repeat("A", MaxLine+10)+"\n"); !errors.Is(err, ErrStream) {
		t.Errorf("over-long line: %v", err)
	}
	if _, err := read(t, "\nAAAA\nSEND 2000000\n"); !errors.Is(err, ErrStream) {
		t.Errorf("undrainable body: %v", err)
	}
	if _, err := read(t, "\nAAAA\nSEND 5\nhelloX\n"); !errors.Is(err, ErrStream) {
		t.Errorf("data after a binary body: %v", err)
	}
	if _, err := read(t, "\nAAAA\n"); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated transmission: %v", err)
	}
	if _, err := read(t, ""); !errors.Is(err, io.EOF) {
		t.Errorf("clean end: %v", err)
	}
	tx, err := read(t, "\r\nAAAA\r\nSEND 2\r\nhi\r\n")
	if err != nil || tx.Err != "" || string(tx.Command.(Send).Body) != "hi" || string(tx.Signed) != "AAAA\r\nSEND 2\r\nhi" {
		t.Errorf("CRLF transmission: %+v, %v", tx, err)
	}
}

func TestClientTransmissionRoundTrip(t *testing.T) {
	cmds := []Command{Sub{}, Ack{}, Hold{}, Del{}, Send{Body: []byte("text")}, Send{Body: []byte("a\nb\x00c"), Binary: true}}
	for _, c := range cmds {
		b := AppendClientTransmission(nil, []byte("0123456789abcdef"), c, func(s []byte) []byte { return []byte("sig") })
		tx, err := NewReader(bytes.NewReader(b)).Read()
		if err != nil || tx.Err != "" {
			t.Fatalf("%T: %v %v", c, err, tx.Err)
		}
		if string(tx.Signature) != "sig" || string(tx.ConnID) != "0123456789abcdef" {
			t.Fatalf("%T: credentials %q %q", c, tx.Signature, tx.ConnID)
		}
		if s, ok := c.(Send); ok && !bytes.Equal(tx.Command.(Send).Body, s.Body) {
			t.Fatalf("body %q, want %q", tx.Command.(Send).Body, s.Body)
		}
	}
}

// FuzzReader reads arbitrary streams: no panic, and every transmission it
// accepts re-encodes to one that reads back the same.
func FuzzReader(f *testing.F) {
	f.Add([]byte("\nAAAA\nSEND 5\nhello\n\nAAAA\nSEND :hi\n"))
	f.Add([]byte("c2ln\nAAAA\nSUB\r\n"))
	f.Add([]byte("\n\nCONN MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data))
		for range 16 {
			tx, err := r.Read()
			if err != nil {
				return
			}
			if tx.Err != "" {
				continue
			}
			sig := tx.Signature
			b := AppendClientTransmission(nil, tx.ConnID, tx.Command, func([]byte) []byte { return sig })
			again, err := NewReader(bytes.NewReader(b)).Read()
			if err != nil || again.Err != "" || !bytes.Equal(again.ConnID, tx.ConnID) || !bytes.Equal(again.Signature, tx.Signature) {
				t.Fatalf("re-encoded %q reads back as %+v, %v", b, again, err)
			}
		}
	})
}
