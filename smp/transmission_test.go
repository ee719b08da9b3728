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

// TestReadCR: exactly one CR before LF is part of the terminator; a CR
// anywhere else in a line is refused (ERR SYNTAX 2), the line consumed, and
// the stream stays in step. Before, "\r\r\n" lost one CR and the line
// re-encoded to other bytes than were signed.
func TestReadCR(t *testing.T) {
	for _, in := range []string{
		"\nAAAA\r\r\nSUB\n",
		"\r\r\nAAAA\nSUB\n",
		"\nAAAA\nSUB\r\r\n",
		"\nAAAA\nSEND :a\rb\n",
		"\nAAAA\nSEND :ab\r\r\n",
		"\nAA\rAA\nSUB\n",
	} {
		r := NewReader(strings.NewReader(in + "\nAAAA\nSEND :next\n"))
		tx, err := r.Read()
		if err != nil || tx.Err != Syntax(SyntaxBadParameters) {
			t.Errorf("%q: %+v, %v; want ERR SYNTAX 2", in, tx, err)
		}
		if tx, err := r.Read(); err != nil || tx.Err != "" || string(tx.Command.(Send).Body) != "next" {
			t.Errorf("%q: the next transmission: %+v, %v", in, tx, err)
		}
	}
	tx, err := read(t, "\r\nAAAA\r\nSEND :a b\r\n")
	if err != nil || tx.Err != "" || string(tx.Command.(Send).Body) != "a b" || string(tx.Signed) != "AAAA\r\nSEND :a b" {
		t.Errorf("CRLF: %+v, %v", tx, err)
	}
}

// TestReadBodySize: a binary body longer than its declared size is
// answered ERR SIZE and the stream stays in step, as for one over the
// limit; before, the connection was dropped.
func TestReadBodySize(t *testing.T) {
	for _, in := range []string{
		"\nAAAA\nSEND 5\nhelloX\n",
		"\nAAAA\nSEND 0\nX\n",
		"\nAAAA\nSEND 2\nhi\r\r\n",
		"\nAAAA\nSEND 2\nhi there\r\n",
	} {
		r := NewReader(strings.NewReader(in + "\nAAAA\nSEND :next\n"))
		tx, err := r.Read()
		if err != nil || tx.Err != ErrSize {
			t.Errorf("%q: %+v, %v; want ERR SIZE", in, tx, err)
		}
		if tx, err := r.Read(); err != nil || tx.Err != "" || string(tx.Command.(Send).Body) != "next" {
			t.Errorf("%q: the next transmission: %+v, %v", in, tx, err)
		}
	}
}

// encodeTx re-encodes a read transmission as a client would send it.
func encodeTx(tx *Transmission) []byte {
	sig := tx.Signature
	return AppendClientTransmission(nil, tx.ConnID, tx.Command, func([]byte) []byte { return sig })
}

// FuzzReader reads arbitrary streams. Each transmission it accepts
// re-encodes to the very bytes it was read from (for streams in LF form:
// a CRLF stream differs by its CRs) and reads back to the same fields,
// command included; the signed part is what the encoder signs.
func FuzzReader(f *testing.F) {
	f.Add([]byte("\nAAAA\nSEND 5\nhello\n\nAAAA\nSEND :hi\n"))
	f.Add([]byte("c2ln\nAAAA\nSUB\r\n"))
	f.Add([]byte("\n\nCONN MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"))
	f.Add([]byte("c2ln\nAAAA\nKEY MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n\nAAAA\nACK\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lf := !bytes.Contains(data, []byte("\r"))
		r := NewReader(bytes.NewReader(data))
		var out []byte
		for range 16 {
			tx, err := r.Read()
			if err != nil {
				return
			}
			if tx.Err != "" {
				lf = false // what follows no longer lines up with out
				continue
			}
			b := encodeTx(tx)
			out = append(out, b...)
			if lf && !bytes.HasPrefix(data, out) {
				t.Fatalf("read %q, re-encoded %q", data, out)
			}
			again, err := NewReader(bytes.NewReader(b)).Read()
			if err != nil || again.Err != "" {
				t.Fatalf("re-encoded %q does not read: %v %v", b, err, again.Err)
			}
			l1, b1 := line(tx.Command)
			l2, b2 := line(again.Command)
			if l1 != l2 || !bytes.Equal(b1, b2) || !bytes.Equal(again.ConnID, tx.ConnID) || !bytes.Equal(again.Signature, tx.Signature) {
				t.Fatalf("re-encoded %q reads back as %+v", b, again)
			}
			if want := b[len(Encode(tx.Signature))+1 : len(b)-1]; !bytes.Equal(again.Signed, want) || (lf && !bytes.Equal(tx.Signed, want)) {
				t.Fatalf("signed part %q, want %q", tx.Signed, want)
			}
		}
	})
}
