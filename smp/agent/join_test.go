package agent

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"ssms.dev/ssms/smp/client"
	"ssms.dev/ssms/smp/server/servertest"
)

// TestAttackJoinCrashBeforeConfirmation: the joiner's SEND of the
// confirmation fails (or the process is killed between Join's save and
// the SEND). Before, nothing sent it again: the contact stayed "joining"
// for good and joining again under the name was refused. Now the sealed
// confirmation is kept and the next Listen sends it.
func TestAttackJoinCrashBeforeConfirmation(t *testing.T) {
	ctx := context.Background()
	addr := servertest.Start(t)
	dir := t.TempDir()
	alice := newAgent(t, filepath.Join(dir, "alice"))
	bobPath := filepath.Join(dir, "bob")
	bob := newAgent(t, bobPath)
	inv, err := alice.Invite(ctx, "bob", addr)
	if err != nil {
		t.Fatal(err)
	}
	bob.testStep = func(step string, _ *client.Conn) error {
		if step == "confirm" {
			return errors.New("killed before the SEND")
		}
		return nil
	}
	if err := bob.Join(ctx, "alice", inv, addr); err == nil {
		t.Fatal("join did not report the failed SEND")
	}
	crash(bob)

	bob2 := newAgent(t, bobPath)
	if err := bob2.Listen(ctx); err != nil {
		t.Fatal(err)
	}
	if err := alice.Listen(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, alice, EventConnected)
	waitFor(t, bob2, EventConnected)
	if a := bob2.State().Contacts["alice"].Send.Answer; a != nil {
		t.Fatal("the joiner keeps its confirmation once connected")
	}
}

// TestJoinConfirmationSentTwice: the confirmation went, then the
// joiner restarted before the inviter answered, so Listen sends it again:
// the inviter gets two identical confirmations. The second is harmless:
// the handshake ends, and messages flow both ways.
func TestJoinConfirmationSentTwice(t *testing.T) {
	ctx := context.Background()
	addr := servertest.Start(t)
	dir := t.TempDir()
	alice := newAgent(t, filepath.Join(dir, "alice"))
	bobPath := filepath.Join(dir, "bob")
	bob := newAgent(t, bobPath)
	inv, err := alice.Invite(ctx, "bob", addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := bob.Join(ctx, "alice", inv, addr); err != nil {
		t.Fatal(err)
	}
	crash(bob)
	bob2 := newAgent(t, bobPath)
	if err := bob2.Listen(ctx); err != nil { // sends it again
		t.Fatal(err)
	}
	if err := alice.Listen(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, alice, EventConnected)
	waitFor(t, bob2, EventConnected)
	if err := alice.Send(ctx, "bob", "hi"); err != nil {
		t.Fatal(err)
	}
	if e, noise := waitFor(t, bob2, EventMessage); e.Text != "hi" || len(noise) > 0 {
		t.Fatalf("bob got %+v after %+v", e, noise)
	}
	if err := bob2.Send(ctx, "alice", "hello"); err != nil {
		t.Fatal(err)
	}
	if e, _ := waitFor(t, alice, EventMessage); e.Text != "hello" {
		t.Fatalf("alice got %+v", e)
	}
}

// TestAttackRefusedReplyBlocksQueue: Eve, who saw the invitation,
// confirms first with a reply queue on a server alice did not allow.
// Before, her confirmation stayed unacknowledged at the head of the
// queue and bob's behind it was never delivered. Now it is removed
// without KEY, and bob's goes through.
func TestAttackRefusedReplyBlocksQueue(t *testing.T) {
	ctx := context.Background()
	addr := servertest.Start(t)
	other := servertest.Start(t)
	dir := t.TempDir()
	alice := newAgent(t, filepath.Join(dir, "alice"))
	bob := newAgent(t, filepath.Join(dir, "bob"))
	eve := newAgent(t, filepath.Join(dir, "eve"))
	inv, err := alice.Invite(ctx, "bob", addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := eve.Join(ctx, "alice", inv, other); err != nil {
		t.Fatal(err)
	}
	if err := bob.Join(ctx, "alice", inv, addr); err != nil {
		t.Fatal(err)
	}
	if err := alice.Listen(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, alice, NoticeReplyServer)
	waitFor(t, alice, EventConnected)
	waitFor(t, bob, EventConnected)
	select {
	case e := <-eve.Events():
		t.Fatalf("eve heard %+v", e)
	case <-time.After(200 * time.Millisecond):
	}
}
