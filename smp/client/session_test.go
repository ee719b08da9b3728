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

func TestSessionResubscribesAfterADrop(t *testing.T) {
	addr := servertest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := NewSession(addr)
	s.MinBackoff = 10 * time.Millisecond
	changes := make(chan error, 10)
	s.OnChange = func(err error) { changes <- err }
	go s.Run(ctx)

	var q *Queue
	if err := s.Do(ctx, func(c *Conn) (err error) { q, err = c.CreateQueue(ctx, key(t, signer.Ed25519)); return err }); err != nil {
		t.Fatal(err)
	}
	if err := s.Watch(ctx, q); err != nil {
		t.Fatal(err)
	}
	sender := dial(t, addr)
	send := func(body string) {
		if err := sender.Send(ctx, q.SenderID, nil, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	receive := func(want string) {
		select {
		case d := <-s.Deliveries():
			body, err := q.Open(d.Msg)
			if err != nil || string(body) != want {
				t.Fatalf("got %q (%v), want %q", body, err, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no delivery of %q", want)
		}
	}
	send("one")
	receive("one")

	// The connection drops before "one" is acknowledged, and a message
	// arrives meanwhile. After reconnecting and subscribing again, "one"
	// comes again (at least once), then, acknowledged, "two".
	c, _ := s.Conn(ctx)
	c.tc.Close()
	<-c.Done()
	send("two")
	receive("one")
	if err := s.Do(ctx, func(c *Conn) error { return c.Ack(ctx, q) }); err != nil {
		t.Fatal(err)
	}
	receive("two")
	if c2, _ := s.Conn(ctx); c2 == c {
		t.Fatal("still the old connection")
	}
	if err := <-changes; err != nil {
		t.Fatalf("first change: %v", err)
	}
	if err := <-changes; !errors.Is(err, ErrClosed) {
		t.Fatalf("second change: %v, want the drop", err)
	}
}

func TestSessionStopsOnAnotherServer(t *testing.T) {
	addr := servertest.Start(t)
	other := servertest.Start(t)
	addr.Fingerprint = other.Fingerprint
	if err := NewSession(addr).Run(context.Background()); !errors.Is(err, smp.ErrFingerprint) {
		t.Fatalf("Run: %v", err)
	}
}

func TestSessionCommandsFailOnAnotherServer(t *testing.T) {
	addr := servertest.Start(t)
	other := servertest.Start(t)
	addr.Fingerprint = other.Fingerprint
	s := NewSession(addr)
	go s.Run(context.Background())
	err := s.Do(context.Background(), func(c *Conn) error { return nil })
	if !errors.Is(err, smp.ErrFingerprint) {
		t.Fatalf("a command on a session to an impostor: %v", err)
	}
}
