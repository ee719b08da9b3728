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

// FuzzReadServer: no input panics, and what parses re-encodes to bytes
// that parse to the same message.
func FuzzReadServer(f *testing.F) {
	f.Add([]byte("\n\nOK\n"))
	f.Add([]byte("\nBwcHBwcHBwcHBwcHBwcHBw==\nMSG 2026-11-22T12:00:00Z 2\nab\n"))
	f.Add([]byte("\n\nIDS BwcHBwcHBwcHBwcHBwcHBw== CAgICAgICAgICAgICAgICA==\n"))
	f.Add([]byte("\n\nERR SYNTAX 2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := NewReader(bytes.NewReader(data)).ReadServer()
		if err != nil {
			return
		}
		again, err := NewReader(bytes.NewReader(AppendTransmission(nil, st.ConnID, st.Command))).ReadServer()
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
