package server

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"ssms.dev/ssms/smp"
)

// TestStoreLogDropsWeakKeys: queues a store log holds from before weak
// keys were refused (a small-order recipient key, an RSA sender key with
// exponent 3) are not revived, and the server still starts with the rest.
func TestStoreLogDropsWeakKeys(t *testing.T) {
	dir := t.TempDir()
	identity := make([]byte, 32)
	identity[0] = 1
	weakEd, _ := x509.MarshalPKIXPublicKey(ed25519.PublicKey(identity))
	good, _, _ := ed25519.GenerateKey(rand.Reader)
	goodDER, _ := x509.MarshalPKIXPublicKey(good)
	ids := make([]string, 6)
	for i := range ids {
		id := newID()
		ids[i] = smp.Encode(id[:])
	}
	log := fmt.Sprintf("NEW %s %s %s\nNEW %s %s %s\nNEW %s %s %s\nKEY %s %s\nMSG %s 1 s %s\n",
		ids[0], ids[1], smp.Encode(weakEd),
		ids[2], ids[3], smp.Encode(goodDER),
		ids[4], ids[5], smp.Encode(goodDER),
		ids[4], smp.Encode(rsaDERExp(t, 2048, 3)),
		ids[4], smp.Encode([]byte("x")))
	if err := os.WriteFile(filepath.Join(dir, storeLogFile), []byte(log), 0o600); err != nil {
		t.Fatal(err)
	}
	s := New(Config{})
	l, err := OpenStoreLog(dir, s, true)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if len(s.byRID) != 1 || s.held.queues != 1 || s.held.messages != 0 {
		t.Fatalf("%d queues revived (held %+v), want only the one with a good key", len(s.byRID), s.held)
	}
	for _, q := range s.byRID {
		if smp.Encode(q.rid[:]) != ids[2] {
			t.Fatal("the wrong queue was revived")
		}
	}
}
