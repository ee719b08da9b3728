package agent

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"testing"
)

func FuzzParseInvitation(f *testing.F) {
	ek, _ := ecdh.X25519().GenerateKey(rand.Reader)
	inv := &Invitation{EncryptionKey: ek.PublicKey(), SenderID: bytes.Repeat([]byte{9}, 16)}
	inv.Server.Fingerprint, inv.Server.Host, inv.Server.Port = "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU", "127.0.0.1", 5223
	f.Add(inv.String())
	f.Add(inv.URI())
	f.Add("a b c d")
	f.Fuzz(func(t *testing.T, s string) {
		inv, err := ParseInvitation(s)
		if err != nil {
			return
		}
		// Both forms of what parsed parse to the same invitation.
		for _, form := range []string{inv.String(), inv.URI()} {
			again, err := ParseInvitation(form)
			if err != nil || again.String() != inv.String() {
				t.Fatalf("%q: re-parsed %v, %v", form, again, err)
			}
		}
	})
}

func FuzzParseConfirmation(f *testing.F) {
	f.Add([]byte("KEY MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n{\"dh\":\"x\"}"))
	f.Add([]byte("KEY x\n{}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfirmation(b)
		if err == nil && (c.SenderKey == nil || c.Body.DH == "") {
			t.Fatalf("accepted an incomplete confirmation: %+v", c)
		}
	})
}

func FuzzParseMessage(f *testing.F) {
	f.Add([]byte(`{"seq":1,"prev":"","kind":"text","text":"hi"}`))
	f.Add([]byte(`{"seq":2,"prev":"AAAA","kind":"hello","resync":true}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMessage(b)
		if err != nil {
			return
		}
		out, err := marshalMessage(m)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseMessage(out)
		if err != nil || *again != *m {
			t.Fatalf("round trip: %+v vs %+v (%v)", again, m, err)
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
