package server

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"math/big"
	"testing"
)

// TestSpecErrorCodes holds each error case of the specification's error
// section on the text transport, the ones errorsSuite does not: ERR SYNTAX
// carries only the codes the specification defines (2 to 6; bad base64 is
// 2, there is no 1), a binary SEND whose body is longer than declared is
// ERR SIZE and the connection stays usable, weak keys are refused in CONN
// and KEY.
func TestSpecErrorCodes(t *testing.T) {
	_, addr := startText(t, Config{})
	r, s := dial(t, addr), dial(t, addr)
	rid, sid := r.create()
	identity := make([]byte, 32)
	identity[0] = 1 // the identity point: one signature verifies for every message
	idDER, _ := x509.MarshalPKIXPublicKey(ed25519.PublicKey(identity))
	idKey := base64.StdEncoding.EncodeToString(idDER)
	rsa1024 := base64.StdEncoding.EncodeToString(rsaDER(t, 1024))
	sig := base64.StdEncoding.EncodeToString(make([]byte, 64))
	tests := []struct {
		name string
		p    *party
		raw  string // the whole transmission
		want string
	}{
		{"unknown verb", r, "\n" + rid + "\nHELLO\n", rid + " ERR UNKNOWN"},
		{"server message", r, "\n\nEND\n", " ERR PROHIBITED"},
		{"MSG from a client", r, "\n" + rid + "\nMSG 2026-01-01T00:00:00Z :x\n", rid + " ERR PROHIBITED"},
		{"connId not base64", r, sig + "\n" + rid[:10] + "\nSUB\n", " ERR SYNTAX 2"},
		{"connId with CR", r, sig + "\n" + rid[:10] + "\r" + rid[10:] + "\nSUB\n", " ERR SYNTAX 2"},
		{"signature not base64", r, "AAA\n" + rid + "\nSUB\n", rid + " ERR SYNTAX 2"},
		{"line ends CR CR LF", r, sig + "\n" + rid + "\nSUB\r\r\n", rid + " ERR SYNTAX 2"},
		{"string body with CR", s, "\n" + sid + "\nSEND :a\rb\n", sid + " ERR SYNTAX 2"},
		{"KEY with two keys", r, sig + "\n" + rid + "\nKEY " + r.pub + " " + r.pub + "\n", rid + " ERR SYNTAX 2"},
		{"CONN identity key", r, "\n\nCONN " + idKey + "\n", " ERR SYNTAX 2"},
		{"CONN RSA-1024", r, "\n\nCONN " + rsa1024 + "\n", " ERR SYNTAX 2"},
		{"KEY identity key", r, sig + "\n" + rid + "\nKEY " + idKey + "\n", rid + " ERR SYNTAX 2"},
		{"KEY RSA-1024", r, sig + "\n" + rid + "\nKEY " + rsa1024 + "\n", rid + " ERR SYNTAX 2"},
		{"HOLD without signature", r, "\n" + rid + "\nHOLD\n", rid + " ERR SYNTAX 3"},
		{"DEL without connId", r, sig + "\n\nDEL\n", " ERR SYNTAX 3"},
		{"CONN with both", r, sig + "\n" + rid + "\nCONN " + r.pub + "\n", rid + " ERR SYNTAX 4"},
		{"binary SEND without connId", s, "\n\nSEND 1\nx\n", " ERR SYNTAX 5"},
		{"SEND size with sign", s, "\n" + sid + "\nSEND +1\n", sid + " ERR SYNTAX 6"},
		{"SEND size with leading zero", s, "\n" + sid + "\nSEND 01\n", sid + " ERR SYNTAX 6"},
		{"body longer than declared", s, "\n" + sid + "\nSEND 3\nabcdef\n", sid + " ERR SIZE"},
		{"body longer than declared, CR", s, "\n" + sid + "\nSEND 3\nabc\r\r\n", sid + " ERR SIZE"},
	}
	for _, tt := range tests {
		if _, err := fmt.Fprint(tt.p.conn, tt.raw); err != nil {
			t.Fatal(err)
		}
		if got := tt.p.read(); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
	// Still in step on both connections, and nothing was stored.
	s.raw(false, sid, "SEND :in step")
	s.expect(sid + " OK")
	r.expect(rid + " MSG T :in step")
}

// rsaDER is an RSA public key of the given size: a random odd modulus, as
// the size is all that is checked.
func rsaDER(t *testing.T, bits int) []byte { return rsaDERExp(t, bits, 65537) }

func rsaDERExp(t *testing.T, bits, e int) []byte {
	b := make([]byte, bits/8)
	rand.Read(b)
	b[0] |= 0x80
	b[len(b)-1] |= 1
	der, err := x509.MarshalPKIXPublicKey(&rsa.PublicKey{N: new(big.Int).SetBytes(b), E: e})
	if err != nil {
		t.Fatal(err)
	}
	return der
}
