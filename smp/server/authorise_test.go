package server

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"testing"

	"ssms.dev/ssms/signer"
	"ssms.dev/ssms/smp"
)

// smpKey is priv's public key as the server holds it.
func smpKey(tb testing.TB, priv ed25519.PrivateKey) *smp.PublicKey {
	sk, err := signer.NewPublicKey(priv.Public())
	if err != nil {
		tb.Fatal(err)
	}
	k, err := smp.NewKey(sk)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func parseTx(t *testing.T, b []byte) *smp.Transmission {
	t.Helper()
	tx, err := smp.NewReader(bytes.NewReader(b)).Read()
	if err != nil || tx.Err != "" {
		t.Fatalf("%q: %v %v", b, err, tx.Err)
	}
	return tx
}

// TestAuthoriseRepeats: a recipient transmission seen before is taken
// without a second verification, and only the very same bytes are.
func TestAuthoriseRepeats(t *testing.T) {
	s := New(Config{})
	c := newClient(s)
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	k := smpKey(t, priv)
	s.create(c, smp.Conn{RecipientKey: k})
	var q *queue
	for _, q = range s.byRID {
	}
	sign := func(m []byte) []byte { return ed25519.Sign(priv, m) }
	ack := smp.AppendClientTransmission(nil, q.rid[:], smp.Ack{}, sign)

	if s.authorise(parseTx(t, ack)) != q || q.verified == nil {
		t.Fatal("a signed ACK was refused, or not remembered")
	}
	// Swap the key: only a repeat, which is not verified again, still passes.
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	q.rkey = smpKey(t, other)
	if s.authorise(parseTx(t, ack)) != q {
		t.Fatal("the same ACK again was verified again")
	}
	sub := smp.AppendClientTransmission(nil, q.rid[:], smp.Sub{}, sign)
	if s.authorise(parseTx(t, sub)) != nil {
		t.Fatal("another command by the same key was not verified")
	}
	q.rkey = k
	bad := parseTx(t, ack)
	bad.Signature = bytes.Clone(bad.Signature)
	bad.Signature[0] ^= 1
	if s.authorise(bad) != nil {
		t.Fatal("the remembered bytes with another signature passed")
	}
	moved := parseTx(t, ack)
	moved.Signed = append(bytes.Clone(moved.Signed), ' ')
	if s.authorise(moved) != nil {
		t.Fatal("the remembered signature over other bytes passed")
	}
}
