package agent

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"slices"
	"strings"
	"testing"

	"ssms.dev/ssms/smp"
)

// FuzzParseInvitation: what parses is exactly one of the spellings
// String and URI write (the spec's form possibly without the default
// port), byte for byte, each of them parses back to the same invitation,
// and nothing that parses names no host or a low-order key.
func FuzzParseInvitation(f *testing.F) {
	inv := testInvitation(f, "127.0.0.1")
	noHost := testInvitation(f, "")
	f.Add(inv.String())
	f.Add(inv.URI())
	f.Add(strings.Replace(inv.String(), ":5223", "", 1))
	f.Add(strings.Replace(inv.URI(), "ek=", "ek=%41", 1))
	f.Add(strings.Replace(inv.URI(), "@", ":pw@", 1))
	f.Add(inv.URI() + "&sid=AAAA")
	f.Add(noHost.String())
	f.Add(noHost.URI())
	f.Add("a b c d")
	f.Fuzz(func(t *testing.T, s string) {
		inv, err := ParseInvitation(s)
		if err != nil {
			return
		}
		if !slices.Contains(inv.forms(), s) {
			t.Fatalf("%q parsed, but writes as %q", s, inv.forms())
		}
		if inv.Server.Host == "" || checkX25519(inv.EncryptionKey) != nil {
			t.Fatalf("%q parsed with host %q and key %x", s, inv.Server.Host, inv.EncryptionKey.Bytes())
		}
		for _, form := range []string{inv.String(), inv.URI()} {
			again, err := ParseInvitation(form)
			if err != nil || again.String() != inv.String() || again.URI() != inv.URI() {
				t.Fatalf("%q: re-parsed %v, %v", form, again, err)
			}
		}
	})
}

// FuzzInvitationRoundTrip: every invitation this client can write (any
// key, any sender ID, a host of the usual kinds, any port) parses from
// each of its spellings back to the very same bytes.
func FuzzInvitationRoundTrip(f *testing.F) {
	f.Add(bytes.Repeat([]byte{7}, 32), []byte("sixteen byte id!"), uint8(0), uint16(5223))
	f.Add(bytes.Repeat([]byte{1}, 32), []byte{0}, uint8(2), uint16(1))
	hosts := []string{"127.0.0.1", "smp.example.org", "::1", "2001:db8::5", "a-b.c"}
	f.Fuzz(func(t *testing.T, seed, sid []byte, host uint8, port uint16) {
		if len(seed) != 32 || len(sid) == 0 || len(sid) > 64 || port == 0 {
			return
		}
		ek, err := ecdh.X25519().NewPrivateKey(seed)
		if err != nil {
			t.Fatal(err)
		}
		inv := &Invitation{EncryptionKey: ek.PublicKey(), SenderID: sid}
		inv.Server.Fingerprint, inv.Server.Host, inv.Server.Port = "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU", hosts[int(host)%len(hosts)], int(port)
		for _, form := range inv.forms() {
			got, err := ParseInvitation(form)
			if err != nil {
				t.Fatalf("%q: %v", form, err)
			}
			if got.String() != inv.String() || got.URI() != inv.URI() {
				t.Fatalf("%q: parsed as %q", form, got.String())
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
	f.Add([]byte(`{"seq":300,"prev":"","kind":"text","text":"back","resync":true,"epoch":"AAAAAAAAAAAAAAAAAAAAAA"}`))
	f.Add([]byte(`{"seq":301,"prev":"AAAA","kind":"text","epoch":"AAAAAAAAAAAAAAAAAAAAAB"}`))
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
