package agent

import (
	"context"
	"os"
	"testing"
)

// TestAttackEpochBoundaryReorder: after bob's restart the server delivers
// his second message before his first. Before, the second opened the new
// epoch with nothing awaited, and the first, never seen, was dropped as
// a duplicate. Now the numbers just below are awaited: the first is late.
func TestAttackEpochBoundaryReorder(t *testing.T) {
	alice, bob, _ := connectedPair(t)
	c := alice.State().Contacts["bob"]
	bob.State().Contacts["alice"].Send.Resync = true // bob crashed and came back
	first := sealAs(t, bob, "alice", "first after restart")
	second := sealAs(t, bob, "alice", "second after restart")
	if got := receiveKinds(t, alice, c, second); got != "resync gap message" {
		t.Fatalf("second: %q", got)
	}
	if got := receiveKinds(t, alice, c, first); got != "late message" {
		t.Fatalf("first, delivered late: %q", got)
	}
	if got := receiveKinds(t, alice, c, first); got != NoticeDuplicate {
		t.Fatalf("first, again: %q", got)
	}
}

// TestAttackRollbackSenderReusesNumbers: alice's state file is rolled
// back to a copy from a clean exit (a backup restored). Before, the copy
// said clean, no new epoch started, her client reused numbers bob had
// seen, and bob dropped her new message as a duplicate. Now every start
// is a new epoch past the clock, so the message is shown (with a
// notice: it does not chain to the last one bob saw).
func TestAttackRollbackSenderReusesNumbers(t *testing.T) {
	for _, sentBefore := range []bool{true, false} {
		t.Run(map[bool]string{true: "sent before the backup", false: "nothing sent before"}[sentBefore], func(t *testing.T) {
			testRollbackSender(t, sentBefore)
		})
	}
}

func testRollbackSender(t *testing.T, sentBefore bool) {
	ctx := context.Background()
	alice, bob, alicePath := connectedPair(t)
	if sentBefore {
		if err := alice.Send(ctx, "bob", "before the backup"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, bob, EventMessage)
	}
	alice.Close()
	alice.store.Close()
	backup, err := os.ReadFile(alicePath)
	if err != nil {
		t.Fatal(err)
	}
	alice2 := newAgent(t, alicePath)
	if err := alice2.Send(ctx, "bob", "first"); err != nil {
		t.Fatal(err)
	}
	if e, noise := waitFor(t, bob, EventMessage); e.Text != "first" || len(noise) > 0 {
		t.Fatalf("after a clean restart bob got %+v after %q; want no notice", e, kindsOf(noise))
	}
	alice2.Close()
	alice2.store.Close()
	if err := os.WriteFile(alicePath, backup, 0o600); err != nil { // rollback
		t.Fatal(err)
	}
	alice3 := newAgent(t, alicePath)
	if err := alice3.Send(ctx, "bob", "NEW and important"); err != nil {
		t.Fatal(err)
	}
	e, noise := waitFor(t, bob, EventMessage)
	if e.Text != "NEW and important" || kindsOf(noise) != NoticeResync {
		t.Fatalf("bob got %+v after %q", e, kindsOf(noise))
	}
}
