package agent

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"ssms.dev/ssms/smp"
	"ssms.dev/ssms/smp/server/servertest"
)

func testInvitation(t testing.TB, host string) *Invitation {
	t.Helper()
	ek, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	inv := &Invitation{EncryptionKey: ek.PublicKey(), SenderID: []byte("sixteen byte id!")}
	inv.Server.Fingerprint, inv.Server.Host, inv.Server.Port = "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU", host, 5223
	return inv
}

// TestAttackInvitationParsing: each invitation is refused, with an error
// that names what is wrong. Before, an empty host parsed (and dialed this
// machine), and the others were refused only as "not in canonical form".
func TestAttackInvitationParsing(t *testing.T) {
	good := testInvitation(t, "smp.example.org")
	noHost := testInvitation(t, "")
	zero, _ := ecdh.X25519().NewPublicKey(make([]byte, 32))
	der, _ := x509.MarshalPKIXPublicKey(zero)
	zeroStd, zeroURL := base64.StdEncoding.EncodeToString(der), base64.RawURLEncoding.EncodeToString(der)
	ekStd := strings.Fields(good.String())[0]
	ekURL := good.URI()[strings.Index(good.URI(), "ek=")+3 : strings.Index(good.URI(), "&")]
	for _, tc := range []struct{ name, in, want string }{
		{"empty host", noHost.String(), "no host"},
		{"empty host, default port", strings.Replace(noHost.String(), ":5223", "", 1), "no host"},
		{"empty host, URI", noHost.URI(), "no host"},
		{"password", strings.Replace(good.URI(), "@", ":secret@", 1), "password"},
		{"empty password", strings.Replace(good.URI(), "@", ":@", 1), "password"},
		{"sid twice", good.URI() + "&sid=AAAA", `"sid" given more than once`},
		{"ek twice", good.URI() + "&ek=AAAA", `"ek" given more than once`},
		{"another parameter", good.URI() + "&x=1", `"x"`},
		{"all-zero key", strings.Replace(good.String(), ekStd, zeroStd, 1), "low-order"},
		{"all-zero key, URI", strings.Replace(good.URI(), ekURL, zeroURL, 1), "low-order"},
	} {
		_, err := ParseInvitation(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %q: got %v, want an error naming %q", tc.name, tc.in, err, tc.want)
		}
	}
	for _, s := range []string{good.String(), good.URI()} {
		if _, err := ParseInvitation(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
}

// TestAttackSealToLowOrderKey: a confirmation is not sealed to a
// low-order key, whatever handed it over: the box key would be derived
// from all zeros, and anyone could open it.
func TestAttackSealToLowOrderKey(t *testing.T) {
	zero, _ := ecdh.X25519().NewPublicKey(make([]byte, 32))
	sk, _, err := (&Agent{}).newSigner()
	if err != nil {
		t.Fatal(err)
	}
	ek, _ := ecdh.X25519().GenerateKey(rand.Reader)
	c := &Confirmation{SenderKey: sk.Public(), Body: ConfirmationBody{DH: smp.EncodeDHKey(ek.PublicKey())}}
	if _, err := SealConfirmation(c, zero); !errors.Is(err, ErrLowOrderKey) {
		t.Fatalf("sealed to the all-zero key: %v", err)
	}
	if _, err := SealConfirmation(c, ek.PublicKey()); err != nil {
		t.Fatal(err)
	}
}

// TestAttackReplyServerRedirect: whoever has alice's invitation joins
// with a reply queue on another server, to make alice's client dial it.
// Alice's client does not answer (nor secure her queue) until she allows
// that server; the refused confirmation is removed, and once she allows
// the server, bob's next Listen sends it again and the handshake
// completes. Before, it dialed whatever the confirmation named.
func TestAttackReplyServerRedirect(t *testing.T) {
	addr, elsewhere := servertest.Start(t), servertest.Start(t)
	ctx := context.Background()
	dir := t.TempDir()
	alicePath := filepath.Join(dir, "alice")
	alice, bob := newAgent(t, alicePath), newAgent(t, filepath.Join(dir, "bob"))
	startHandshake(t, alice, bob, addr, elsewhere)
	e, _ := waitFor(t, alice, NoticeReplyServer)
	if !strings.Contains(e.Text, elsewhere.String()) {
		t.Fatalf("the notice does not name the server: %q", e.Text)
	}
	if c := alice.State().Contacts["bob"]; c.Send != nil || c.Recv.PeerDH != nil || c.Status != StatusInvited {
		t.Fatalf("alice went on with the handshake: %+v", c)
	}
	alice.Close()
	alice.store.Close()

	alice2 := newAgent(t, alicePath)
	alice2.Servers = []smp.Address{elsewhere}
	if err := alice2.Listen(ctx); err != nil {
		t.Fatal(err)
	}
	if err := bob.Listen(ctx); err != nil { // sends the confirmation again
		t.Fatal(err)
	}
	waitFor(t, alice2, EventConnected)
	waitFor(t, bob, EventConnected)
}

// TestAttackInvitationUnspecifiedHost: hosts that dial this machine
// without saying so are refused in both forms; loopback names and
// addresses, which say so, are allowed (local testing). Before, each
// parsed.
func TestAttackInvitationUnspecifiedHost(t *testing.T) {
	for _, tc := range []struct {
		host string
		ok   bool
	}{
		{"0.0.0.0", false}, {"::", false}, {"0", false}, {"127.1", false},
		{"::ffff:127.0.0.1", false}, {"::ffff:0.0.0.0", false}, {"0x7f.1", false},
		{"0x7f000001", false}, {"2130706433", false}, {"a.0", false},
		{"127.0.0.1", true}, {"::1", true}, {"localhost", true}, {"smp.example.org", true}, {"10.1.2.3", true},
	} {
		inv := testInvitation(t, tc.host)
		for _, s := range []string{inv.String(), inv.URI()} {
			_, err := ParseInvitation(s)
			if (err == nil) != tc.ok {
				t.Errorf("host %s: %q: got %v; want accepted=%v", tc.host, s, err, tc.ok)
			}
		}
	}
}
