package smp

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestServerMessagesRoundTrip(t *testing.T) {
	dh, _ := ecdh.X25519().GenerateKey(rand.Reader)
	ts := time.Date(2026, 11, 22, 12, 0, 0, 123456789, time.UTC)
	rid := bytes.Repeat([]byte{7}, 16)
	for _, c := range []struct {
		connID []byte
		cmd    Command
	}{
		{nil, IDs{RecipientID: rid, SenderID: bytes.Repeat([]byte{8}, 16)}},
		{nil, IDs{RecipientID: rid, SenderID: bytes.Repeat([]byte{8}, 16), ServerDHKey: dh.PublicKey()}},
		{rid, OK{}},
		{rid, End{}},
		{rid, Err{Type: ErrAuth}},
		{nil, Err{Type: Syntax(SyntaxBadBody)}},
		{rid, Msg{Time: ts, Body: []byte("hello there")}},
		{rid, Msg{Time: ts, Body: []byte("a\nbinary\x00body"), Binary: true}},
		{rid, Msg{Time: ts, Body: bytes.Repeat([]byte{1}, MaxBody+serverOverhead), Binary: true}},
	} {
		wire := AppendTransmission(nil, c.connID, c.cmd)
		got, err := NewReader(bytes.NewReader(wire)).ReadServer()
		if err != nil {
			t.Fatalf("%T: %v\n%q", c.cmd, err, wire)
		}
		if !bytes.Equal(got.ConnID, c.connID) && len(got.ConnID)+len(c.connID) > 0 {
			t.Errorf("%T: connID %x", c.cmd, got.ConnID)
		}
		if !reflect.DeepEqual(got.Command, c.cmd) {
			t.Errorf("got %#v\nwant %#v", got.Command, c.cmd)
		}
	}
}

func TestServerMessagesRefused(t *testing.T) {
	for _, in := range []string{
		"c2ln\n\nOK\n",        // a signature
		"\n!!\nOK\n",          // bad base64
		"\n\nOK now\n",        // parameters
		"\n\nERR NOPE\n",      // unknown error
		"\n\nERR SYNTAX 9\n",  // unknown code
		"\n\nERR SYNTAX 1\n",  // the specification has no code 1
		"\n\nOK\r\r\n",        // a CR inside the line
		"\n\nERR SYNTAX 01\n", // not canonical
		"\n\nIDS AAAA\n",      // one ID
		"\n\nIDS  AAAA\n",     // empty ID
		"\n\nMSG yesterday :x\n",
		"\n\nMSG 2026-11-22T12:00:00Z 3\nabcd\n", // body longer than said
		"\n\nMSG 2026-11-22T12:00:00Z 99999\n",   // too large
		"\n\nSEND :x\n",                          // a client command
		"\n\nOK",                                 // cut
	} {
		if _, err := NewReader(strings.NewReader(in)).ReadServer(); err == nil {
			t.Errorf("%q: accepted", in)
		} else if !errors.Is(err, ErrServerMessage) && !errors.Is(err, ErrStream) && !strings.Contains(err.Error(), "EOF") {
			t.Errorf("%q: unexpected error %v", in, err)
		}
	}
}

// TestReadServerTime: a MSG time is accepted only as a server writes it.
// Before, 9999-12-31T23:59:59-01:00 parsed, and re-encoded in UTC to a
// year RFC 3339 cannot hold, which no longer parsed.
func TestReadServerTime(t *testing.T) {
	for ts, ok := range map[string]bool{
		"2026-11-22T12:00:00Z":           true,
		"2026-11-22T12:00:00.5Z":         true,
		"2026-11-22T12:00:00.123456789Z": true,
		"2026-11-22T12:00:00.50Z":        false, // trailing zero
		"2026-11-22T12:00:00+00:00":      false,
		"2026-11-22T13:00:00+01:00":      false,
		"9999-12-31T23:59:59-01:00":      false,
		"2026-11-22t12:00:00z":           false,
	} {
		_, err := NewReader(strings.NewReader("\n\nMSG " + ts + " :hi\n")).ReadServer()
		if (err == nil) != ok {
			t.Errorf("%s: %v, want accepted %v", ts, err, ok)
		}
	}
}

// FuzzReadServer: no input panics, and what parses re-encodes to the bytes
// it was read from (for input in LF form), which parse to the same message.
func FuzzReadServer(f *testing.F) {
	f.Add([]byte("\n\nOK\n"))
	f.Add([]byte("\nBwcHBwcHBwcHBwcHBwcHBw==\nMSG 2026-11-22T12:00:00Z 2\nab\n"))
	f.Add([]byte("\nBwcHBwcHBwcHBwcHBwcHBw==\nMSG 9999-12-31T23:59:59-01:00 :x\n"))
	f.Add([]byte("\n\nIDS BwcHBwcHBwcHBwcHBwcHBw== CAgICAgICAgICAgICAgICA==\n"))
	f.Add([]byte("\n\nERR SYNTAX 2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := NewReader(bytes.NewReader(data)).ReadServer()
		if err != nil {
			return
		}
		b := AppendTransmission(nil, st.ConnID, st.Command)
		if !bytes.Contains(data, []byte("\r")) && !bytes.HasPrefix(data, b) {
			t.Fatalf("read %q, re-encoded %q", data, b)
		}
		again, err := NewReader(bytes.NewReader(b)).ReadServer()
		if err != nil {
			t.Fatalf("re-encoded %#v does not parse: %v", st.Command, err)
		}
		if m, ok := st.Command.(Msg); ok {
			m2 := again.Command.(Msg)
			if !m.Time.Equal(m2.Time) || !bytes.Equal(m.Body, m2.Body) {
				t.Fatalf("MSG changed: %#v vs %#v", m, m2)
			}
			return
		}
		if !reflect.DeepEqual(st.Command, again.Command) {
			t.Fatalf("changed: %#v vs %#v", st.Command, again.Command)
		}
	})
}
