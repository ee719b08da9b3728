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

// TestReadLimits: what is too large is answered (Transmission.Err) and
// the stream stays in step where the framing allows; past maxDrain the
// answer is ERR SIZE and the next Read fails, or the line never ends and
// Read fails at once.
func TestReadLimits(t *testing.T) {
	long := strings.Repeat("A", MaxLine+10)
	for _, tt := range []struct {
		name, in string
		want     ErrorType // the first transmission's answer
		next     error     // the second Read's error: nil if it reads "SUB"
	}{
		{"long string SEND", "\nAAAA\nSEND :" + long + "\n" + sub, ErrSize, nil},
		{"long binary size", "\nAAAA\nSEND " + strings.Repeat("9", MaxLine+10) + "\n" + sub, ErrSize, ErrStream},
		{"long other command", "\n\n" + long + "\n" + sub, ErrUnknown, nil},
		{"long CONN", "\n\nCONN " + long + "\n" + sub, Syntax(SyntaxBadParameters), nil},
		{"long signature", long + "\nAAAA\nSUB\n" + sub, Syntax(SyntaxBadParameters), nil},
		{"long connection ID", "\n" + long + "\nSUB\n" + sub, Syntax(SyntaxBadParameters), nil},
		{"body over MaxBody", "\nAAAA\nSEND 20000\n" + strings.Repeat("x", 20000) + "\n" + sub, ErrSize, nil},
		{"body over maxDrain", "\nAAAA\nSEND 2000000\n" + sub, ErrSize, ErrStream},
		{"size over an int", "\nAAAA\nSEND 12345678901234567890\n" + sub, ErrSize, ErrStream},
		{"size with a sign", "\nAAAA\nSEND +12345678901234567890\n" + sub, Syntax(SyntaxBadBody), nil},
	} {
		r := NewReader(strings.NewReader(tt.in))
		tx, err := r.Read()
		if err != nil || tx.Err != tt.want {
			t.Errorf("%s: %v %v, want %v", tt.name, tx, err, tt.want)
			continue
		}
		if len(tx.ConnID) > 16 {
			t.Errorf("%s: answered with a connection ID of %d bytes", tt.name, len(tx.ConnID))
		}
		tx, err = r.Read()
		if tt.next != nil && !errors.Is(err, tt.next) || tt.next == nil && (err != nil || tx.Err != "") {
			t.Errorf("%s: then %v %v, want %v", tt.name, tx, err, tt.next)
		}
	}
	if _, err := read(t, "\n\nSEND :"+strings.Repeat("A", maxDrain+10)+"\n"); !errors.Is(err, ErrStream) {
		t.Errorf("a line past maxDrain: %v", err)
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

const sub = "c2ln\nAAAA\nSUB\n"

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
