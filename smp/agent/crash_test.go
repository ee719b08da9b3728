package agent

import (
	"context"
	"testing"
)

// crash stops a as a killed process would: its goroutines end, nothing
// more is saved, and the lock is released. What is on disk is what the
// agent saved before.
func crash(a *Agent) {
	a.closed.Do(func() {
		close(a.stopping)
		a.cancel()
		a.handlers.Wait()
		a.wg.Wait()
	})
	a.store.Close()
}

// TestAttackSequenceReusedAfterCrash: a session that sends inside the
// block of numbers reserved by an earlier session, then crashes, must
// leave the file marked unclean. Before, the file still said clean (only
// memory said otherwise), the next session counted from the old number,
// and bob dropped alice's new message as a duplicate of the lost one.
func TestAttackSequenceReusedAfterCrash(t *testing.T) {
	ctx := context.Background()
	alice, bob, alicePath := connectedPair(t)
	if err := alice.Send(ctx, "bob", "one"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, bob, EventMessage)
	alice.Close() // in order: clean on disk
	alice.store.Close()

	alice2 := newAgent(t, alicePath)
	if err := alice2.Send(ctx, "bob", "two"); err != nil { // inside the reserved block
		t.Fatal(err)
	}
	if e, _ := waitFor(t, bob, EventMessage); e.Text != "two" {
		t.Fatalf("bob got %+v", e)
	}
	crash(alice2)

	alice3 := newAgent(t, alicePath)
	if err := alice3.Send(ctx, "bob", "three"); err != nil {
		t.Fatal(err)
	}
	e, noise := waitFor(t, bob, EventMessage)
	if e.Text != "three" {
		t.Fatalf("bob got %+v after %+v", e, noise)
	}
	if kindsOf(noise) != NoticeResync {
		t.Fatalf("before the message bob saw %q; want %q", kindsOf(noise), NoticeResync)
	}
}
