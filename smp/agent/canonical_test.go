package agent

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"

	"ssms.dev/ssms/internal/strictjson"
	"ssms.dev/ssms/smp/server/servertest"
)

// lineSeparators is a text that parsed when its U+2028s came raw (3 bytes
// each, under MaxText) but cannot be sent: JSON writes each as \u2028.
var lineSeparators = strings.Repeat("\u2028", 4900)

func TestParseMessageCanonical(t *testing.T) {
	for _, in := range []string{
		`{"seq":1,"prev":"","kind":"text","text":"` + lineSeparators + `"}`,
		`{"seq":1,"prev":"","kind":"text","text":"` + strings.Repeat(`\u2028`, 4900) + `"}`,
		`{"seq":1, "prev":"","kind":"text","text":"hi"}`,
		`{"prev":"","seq":1,"kind":"text","text":"hi"}`,
		`{"seq":1,"prev":"","kind":"text","text":"\u0068i"}`,
		`{"seq":1,"prev":"","kind":"text","text":"hi","epoch":"AAAAAAAAAAAAAAAAAAAAAB"}`, // bits past 128
		`{"seq":1,"prev":"","kind":"text","text":"hi","epoch":"AAAA"}`,
	} {
		if _, err := ParseMessage([]byte(in)); err == nil {
			t.Errorf("%.60q: parsed", in)
		}
	}
	if _, err := ParseMessage([]byte(`{"seq":1,"prev":"","kind":"text","text":"hi","epoch":"AAAAAAAAAAAAAAAAAAAAAA"}`)); err != nil {
		t.Errorf("a message with an epoch: %v", err)
	}
	if _, err := ParseMessage([]byte(`{"seq":1,"prev":"","kind":"text","text":"hi \u2028"}`)); err != nil {
		t.Errorf("a canonical message: %v", err)
	}
}

// TestSendTooLongKeepsSequence: a text refused for its encoded size takes
// no sequence number, so the peer sees no gap. Before, Send numbered the
// message, failed to seal it, and the next message arrived as a gap.
func TestSendTooLongKeepsSequence(t *testing.T) {
	addr := servertest.Start(t)
	dir := t.TempDir()
	alice, bob := newAgent(t, filepath.Join(dir, "alice")), newAgent(t, filepath.Join(dir, "bob"))
	connect(t, alice, bob, addr)
	ctx := context.Background()
	if err := alice.Send(ctx, "bob", lineSeparators); err == nil {
		t.Fatal("a text of 4,900 U+2028 was sent")
	}
	if err := alice.Send(ctx, "bob", "hi"); err != nil {
		t.Fatal(err)
	}
	e, noise := waitFor(t, bob, EventMessage)
	if e.Seq != 1 || len(noise) > 0 {
		t.Fatalf("bob got %+v after %+v; want message 1 and nothing else", e, noise)
	}
}

// TestConfirmationWeakKey: a confirmation whose sender key is the
// Ed25519 identity point is refused; with it, one signature would pass
// for every SEND.
func TestConfirmationWeakKey(t *testing.T) {
	identity := make([]byte, 32)
	identity[0] = 1
	der, _ := x509.MarshalPKIXPublicKey(ed25519.PublicKey(identity))
	ek, _ := ecdh.X25519().GenerateKey(rand.Reader)
	body, _ := strictjson.Marshal(ConfirmationBody{DH: encodeDH(t, ek.PublicKey())})
	plain := "KEY " + base64.StdEncoding.EncodeToString(der) + "\n" + string(body)
	if _, err := ParseConfirmation([]byte(plain)); err == nil {
		t.Fatal("a confirmation with the identity point as sender key parsed")
	}
}

func encodeDH(t *testing.T, k *ecdh.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// TestAttackInvitationSpellings: one invitation had more spellings: its
// encryption key with bit 255 set (the same key to X25519), and white
// space around it. Each form now has one.
func TestAttackInvitationSpellings(t *testing.T) {
	priv, _ := ecdh.X25519().GenerateKey(rand.Reader)
	raw := priv.PublicKey().Bytes()
	raw[31] |= 0x80
	twin, err := ecdh.X25519().NewPublicKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	inv := &Invitation{EncryptionKey: priv.PublicKey(), SenderID: make([]byte, 16)}
	inv.Server.Fingerprint, inv.Server.Host, inv.Server.Port = "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU", "smp.example.org", 5223
	other := *inv
	other.EncryptionKey = twin
	for _, s := range []string{inv.String(), inv.URI()} {
		if _, err := ParseInvitation(s); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
	}
	for _, s := range []string{other.String(), other.URI(), " " + inv.String(), inv.URI() + "\n"} {
		if _, err := ParseInvitation(s); err == nil {
			t.Errorf("%q parsed", s)
		}
	}
}
