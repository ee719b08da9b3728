package client

import (
	"context"
	"crypto/ed25519"
	"errors"
	"testing"

	"ssms.dev/ssms/signer"
	"ssms.dev/ssms/smp"
	"ssms.dev/ssms/smp/server/servertest"
)

// TestSecureRefusesWeakKey: the client does not put a weak sender key on
// a queue (the identity point would let one signature pass for every
// SEND), and the server would refuse it too.
func TestSecureRefusesWeakKey(t *testing.T) {
	addr := servertest.Start(t)
	c := dial(t, addr)
	q, err := c.CreateQueue(context.Background(), key(t, signer.Ed25519))
	if err != nil {
		t.Fatal(err)
	}
	identity := make(ed25519.PublicKey, 32)
	identity[0] = 1
	weak, err := signer.NewPublicKey(identity)
	if err != nil {
		t.Skipf("the signer package refuses it already: %v", err)
	}
	if err := c.Secure(context.Background(), q, weak); !errors.Is(err, smp.ErrWeakKey) {
		t.Fatalf("Secure with the identity point: %v, want ErrWeakKey", err)
	}
}
