package agent

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"strings"
	"testing"

	"ssms.dev/ssms/smp"
)

// FuzzParseInvitation: what parses is one of the spellings String and
// URI write (the spec's form possibly without the
// default port), and each of them parses back to the same invitation.
func FuzzParseInvitation(f *testing.F) {
	ek, _ := ecdh.X25519().GenerateKey(rand.Reader)
	inv := &Invitation{EncryptionKey: ek.PublicKey(), SenderID: bytes.Repeat([]byte{9}, 16)}
	inv.Server.Fingerprint, inv.Server.Host, inv.Server.Port = "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU", "127.0.0.1", 5223
	f.Add(inv.String())
	f.Add(inv.URI())
	f.Add(strings.Replace(inv.String(), ":5223", "", 1))
	f.Add(strings.Replace(inv.URI(), "ek=", "ek=%41", 1))
	f.Add("a b c d")
	f.Fuzz(func(t *testing.T, s string) {
		inv, err := ParseInvitation(s)
		if err != nil {
			return
		}
		in := s
		if in != inv.String() && in != inv.URI() && strings.Replace(inv.String(), ":5223 ", " ", 1) != in {
			t.Fatalf("%q parsed, but writes as %q and %q", in, inv.String(), inv.URI())
		}
		for _, form := range []string{inv.String(), inv.URI()} {
			again, err := ParseInvitation(form)
			if err != nil || again.String() != inv.String() || again.URI() != inv.URI() {
				t.Fatalf("%q: re-parsed %v, %v", form, again, err)
			}
		}
	})
}

// FuzzParseConfirmation: a confirmation that parses marshals to the very
// bytes it was parsed from.
func FuzzParseConfirmation(f *testing.F) {
	ek, _ := ecdh.X25519().GenerateKey(rand.Reader)
	f.Add([]byte("KEY MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n{\"dh\":\"" + smp.EncodeDHKey(ek.PublicKey()) + "\",\"name\":\"bob\"}"))
	f.Add([]byte("KEY MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n{\"dh\":\"x\"}"))
	f.Add([]byte("KEY x\n{}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfirmation(b)
		if err != nil {
			return
		}
		out, err := c.marshal()
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("parsed %q, marshals to %q (%v)", b, out, err)
		}
	})
}

// FuzzParseMessage: a message that parses marshals to the very bytes it
// was parsed from, so it fits the size it came in.
func FuzzParseMessage(f *testing.F) {
	f.Add([]byte(`{"seq":1,"prev":"","kind":"text","text":"hi"}`))
	f.Add([]byte(`{"seq":2,"prev":"AAAA","kind":"hello","resync":true}`))
	f.Add([]byte(`{"seq":2,"prev":"","kind":"text","text":"\u2028"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMessage(b)
		if err != nil {
			return
		}
		out, err := marshalMessage(m)
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("parsed %q, marshals to %q (%v)", b, out, err)
		}
	})
}

func FuzzUnpad(f *testing.F) {
	p, _ := pad([]byte("hello"), 64)
	f.Add(p)
	f.Fuzz(func(t *testing.T, b []byte) {
		plain, err := unpad(b)
		if err != nil {
			return
		}
		again, err := pad(plain, len(b))
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("unpad then pad changed the buffer")
		}
	})
}
