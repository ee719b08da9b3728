package agent

import (
	"context"
	"testing"
	"time"

	"ssms.dev/ssms/smp"
	"ssms.dev/ssms/smp/client"
)

// sendRaw sends body on from's queue to peer, as sendMessage does.
func sendRaw(t *testing.T, from *Agent, peer string, body []byte) {
	t.Helper()
	sq := from.State().Contacts[peer].Send
	sk, err := loadSigner(sq.SenderKey)
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := smp.ParseAddress(sq.Server)
	from.mu.Lock()
	s := from.session(addr)
	from.mu.Unlock()
	ctx := context.Background()
	if err := s.Do(ctx, func(cn *client.Conn) error { return cn.Send(ctx, sq.SID, sk, body) }); err != nil {
		t.Fatal(err)
	}
}

// TestAttackCrashAfterSaveBeforeDisplay: alice's client counts a message
// as seen (saved, then acknowledged) and is killed before its user reads
// it. Before, it was lost: the server's copy was gone, or delivered again
// and called a duplicate. Now it is in her inbox and shown at the next
// start, before anything new.
func TestAttackCrashAfterSaveBeforeDisplay(t *testing.T) {
	ctx := context.Background()
	alice, bob, alicePath := connectedPair(t)
	c := alice.State().Contacts["bob"]
	sendRaw(t, bob, "alice", sealAs(t, bob, "alice", "the message the user never saw"))
	deadline := time.Now().Add(5 * time.Second)
	for {
		alice.mu.Lock()
		n := len(c.Inbox)
		alice.mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	crash(alice) // nobody read alice's events
	alice2 := newAgent(t, alicePath)
	if err := alice2.Listen(ctx); err != nil {
		t.Fatal(err)
	}
	if err := bob.Send(ctx, "alice", "next"); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"the message the user never saw", "next"} {
		if e, noise := waitFor(t, alice2, EventMessage); e.Text != want || e.Again != (i == 0) {
			t.Fatalf("alice got %+v after %q; want %q", e, kindsOf(noise), want)
		}
	}
	alice2.Close()
	alice2.store.Close()

	// Taken, and saved on Close: not shown a third time.
	alice3 := newAgent(t, alicePath)
	select {
	case e := <-alice3.Events():
		t.Fatalf("alice got %+v again", e)
	case <-time.After(300 * time.Millisecond):
	}
	if n := len(alice3.State().Contacts["bob"].Inbox); n != 0 {
		t.Fatalf("inbox of %d after the messages were taken", n)
	}
}

// TestInboxBounded: while the user reads nothing, alice's client takes
// at most maxInbox messages from bob; the rest wait on the server and
// come once she reads.
func TestInboxBounded(t *testing.T) {
	ctx := context.Background()
	alice, bob, _ := connectedPair(t)
	c := alice.State().Contacts["bob"]
	for i := 0; i < maxInbox+3; i++ {
		if err := bob.Send(ctx, "alice", "m"); err != nil {
			t.Fatal(err)
		}
	}
	inbox := func() int {
		alice.mu.Lock()
		defer alice.mu.Unlock()
		return len(c.Inbox)
	}
	for deadline := time.Now().Add(10 * time.Second); inbox() < maxInbox && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // time for a message too many to be taken
	if n := inbox(); n != maxInbox {
		t.Fatalf("inbox of %d; want %d", n, maxInbox)
	}
	for i := 0; i < maxInbox+3; i++ {
		waitFor(t, alice, EventMessage)
	}
}
