package server

import (
	"crypto/ecdh"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/nacl/box"
)

func TestServerToRecipientEncryption(t *testing.T) {
	dir := t.TempDir()
	s1 := New(Config{})
	if _, err := OpenStoreLog(dir, s1, true); err != nil {
		t.Fatal(err)
	}
	addr := serveOn(t, s1)
	r, snd := dial(t, addr), dial(t, addr)
	priv, _ := ecdh.X25519().GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(priv.PublicKey())
	r.raw(false, "", "CONN "+r.pub+" "+base64.StdEncoding.EncodeToString(der))
	var rid, sid, serverKey string
	if _, err := fmt.Sscanf(r.read(), " IDS %s %s %s", &rid, &sid, &serverKey); err != nil {
		t.Fatal(err)
	}
	skDER, _ := base64.StdEncoding.DecodeString(serverKey)
	sk, err := x509.ParsePKIXPublicKey(skDER)
	if err != nil {
		t.Fatalf("server DH key: %v", err)
	}
	var shared [32]byte
	box.Precompute(&shared, (*[32]byte)(sk.(*ecdh.PublicKey).Bytes()), (*[32]byte)(priv.Bytes()))
	open := func(m string) string {
		t.Helper()
		prefix := rid + " MSG T "
		if !strings.HasPrefix(m, prefix) {
			t.Fatalf("delivery %q", m)
		}
		var n int
		var enc string
		fmt.Sscanf(m[len(prefix):], "%d", &n)
		enc = m[strings.Index(m, "<")+1 : len(m)-1]
		if len(enc) != n || n < 24+box.Overhead {
			t.Fatalf("encrypted body of %d bytes (declared %d)", len(enc), n)
		}
		nonce := (*[24]byte)([]byte(enc[:24]))
		plain, ok := box.OpenAfterPrecomputation(nil, []byte(enc[24:]), nonce, &shared)
		if !ok {
			t.Fatal("delivery does not decrypt with the recipient's key")
		}
		return string(plain)
	}
	snd.raw(false, sid, "SEND :a secret")
	snd.expect(sid + " OK")
	m := r.read()
	if strings.Contains(m, "a secret") {
		t.Fatal("the sender's bytes reached the recipient unchanged")
	}
	if got := open(m); got != "a secret" {
		t.Fatalf("decrypted %q", got)
	}
	r.raw(true, rid, "ACK")
	r.expect(rid + " OK")
	// A bad DH key is a syntax error.
	r.raw(false, "", "CONN "+r.pub+" "+base64.StdEncoding.EncodeToString([]byte("not a key")))
	r.expect(" ERR SYNTAX 2")
	// After a restart the queue still encrypts to the same key.
	s1.log.Close()
	s2 := New(Config{})
	if _, err := OpenStoreLog(dir, s2, true); err != nil {
		t.Fatal(err)
	}
	addr2 := serveOn(t, s2)
	r2, snd2 := reconnect(t, addr2, r), dial(t, addr2)
	r2.raw(true, rid, "SUB")
	r2.expect(rid + " OK")
	snd2.raw(false, sid, "SEND 3\nbin")
	snd2.expect(sid + " OK")
	if got := open(r2.read()); got != "bin" {
		t.Fatalf("after restart: %q", got)
	}
}
