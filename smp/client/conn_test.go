package client

import (
	"context"
	"errors"
	"testing"
	"time"

	"ssms.dev/ssms/signer"
	"ssms.dev/ssms/smp"
	"ssms.dev/ssms/smp/server/servertest"
)

func dial(t testing.TB, addr smp.Address) *Conn {
	t.Helper()
	c, err := Dial(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func key(t testing.TB, alg signer.Algorithm) signer.Signer {
	t.Helper()
	priv, err := signer.Generate(alg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signer.NewKeySigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func next(t testing.TB, c *Conn) Delivery {
	t.Helper()
	select {
	case d, ok := <-c.Deliveries():
		if !ok {
			t.Fatalf("connection ended: %v", c.Err())
		}
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("no delivery")
	}
	return Delivery{}
}

func isErr(err error, want smp.ErrorType) bool {
	var e *smp.Error
	return errors.As(err, &e) && e.Type == want
}

func TestQueueLifeCycle(t *testing.T) {
	for _, alg := range []signer.Algorithm{signer.Ed25519, signer.RSAPSS} {
		t.Run(string(alg), func(t *testing.T) {
			addr := servertest.Start(t)
			ctx := context.Background()
			alice, bob, eve := dial(t, addr), dial(t, addr), dial(t, addr)
			q, err := alice.CreateQueue(ctx, key(t, alg))
			if err != nil {
				t.Fatal(err)
			}
			// Before KEY: one unsigned message gets through; re-encrypted by the server.
			if err := bob.Send(ctx, q.SenderID, nil, []byte("confirmation")); err != nil {
				t.Fatal(err)
			}
			d := next(t, alice)
			body, err := q.Open(d.Msg)
			if err != nil || string(body) != "confirmation" || string(d.Msg.Body) == "confirmation" {
				t.Fatalf("delivery %q (%v)", body, err)
			}
			bobKey := key(t, alg)
			if err := alice.Secure(ctx, q, bobKey.Public()); err != nil {
				t.Fatal(err)
			}
			if err := alice.Ack(ctx, q); err != nil {
				t.Fatal(err)
			}
			// After KEY: unsigned and wrongly signed SENDs are refused, Bob's are taken.
			if err := eve.Send(ctx, q.SenderID, nil, []byte("spoof")); !isErr(err, smp.ErrAuth) {
				t.Fatalf("unsigned after KEY: %v", err)
			}
			if err := eve.Send(ctx, q.SenderID, key(t, alg), []byte("spoof")); !isErr(err, smp.ErrAuth) {
				t.Fatalf("wrong key: %v", err)
			}
			if err := eve.Subscribe(ctx, &Queue{RecipientID: q.SenderID, Key: bobKey}); !isErr(err, smp.ErrAuth) {
				t.Fatalf("sender ID as recipient: %v", err)
			}
			if err := bob.Send(ctx, q.SenderID, bobKey, []byte("hello")); err != nil {
				t.Fatal(err)
			}
			if body, err := q.Open(next(t, alice).Msg); err != nil || string(body) != "hello" {
				t.Fatalf("%q %v", body, err)
			}
			// Another connection takes the subscription over: the first gets END.
			alice2 := dial(t, addr)
			if err := alice2.Subscribe(ctx, q); err != nil {
				t.Fatal(err)
			}
			if d := next(t, alice); d.Msg != nil {
				t.Fatalf("want END, got a message")
			}
			if body, err := q.Open(next(t, alice2).Msg); err != nil || string(body) != "hello" {
				t.Fatalf("unacknowledged message not redelivered: %q %v", body, err)
			}
			if err := alice2.Suspend(ctx, q); err != nil {
				t.Fatal(err)
			}
			if err := bob.Send(ctx, q.SenderID, bobKey, []byte("late")); !isErr(err, smp.ErrAuth) {
				t.Fatalf("send to a suspended queue: %v", err)
			}
			if err := alice2.Delete(ctx, q); err != nil {
				t.Fatal(err)
			}
			if err := alice2.Subscribe(ctx, q); !isErr(err, smp.ErrAuth) {
				t.Fatalf("deleted queue: %v", err)
			}
		})
	}
}

func TestDialRefusesAnotherServer(t *testing.T) {
	addr := servertest.Start(t)
	other := servertest.Start(t)
	addr.Fingerprint = other.Fingerprint
	if _, err := Dial(context.Background(), addr); !errors.Is(err, smp.ErrFingerprint) {
		t.Fatalf("a server with another CA: %v", err)
	}
}

func TestPipelinedCommandsKeepOrder(t *testing.T) {
	addr := servertest.Start(t)
	ctx := context.Background()
	c := dial(t, addr)
	errs := make(chan error, 200)
	for range 200 {
		go func() {
			q, err := c.CreateQueue(ctx, key(t, signer.Ed25519))
			if err == nil && (len(q.RecipientID) != 16 || len(q.SenderID) != 16) {
				err = errors.New("bad IDs")
			}
			errs <- err
		}()
	}
	for range 200 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func TestConnectionLossFailsCommands(t *testing.T) {
	addr := servertest.Start(t)
	c := dial(t, addr)
	c.tc.Close() // as if the network went away
	if _, err := c.CreateQueue(context.Background(), key(t, signer.Ed25519)); !errors.Is(err, ErrClosed) {
		t.Fatalf("command on a dead connection: %v", err)
	}
	<-c.Done()
}
