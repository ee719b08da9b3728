package agent

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"ssms.dev/ssms/smp/client"
	"ssms.dev/ssms/smp/server/servertest"
)

// TestAttackKeyReplyLost: the server applies alice's KEY and the answer
// is lost with the connection. The client sends KEY again on the next
// one and gets AUTH, the queue being secured already. Before, that AUTH
// dropped the confirmation and the contact stayed "invited" for good.
func TestAttackKeyReplyLost(t *testing.T) {
	addr := servertest.Start(t)
	dir := t.TempDir()
	alice, bob := newAgent(t, filepath.Join(dir, "alice")), newAgent(t, filepath.Join(dir, "bob"))
	var once sync.Once
	alice.testStep = func(step string, cn *client.Conn) error {
		err := error(nil)
		if step == "key" {
			once.Do(func() { cn.Close(); err = client.ErrClosed })
		}
		return err
	}
	connect(t, alice, bob, addr)
	if got := alice.State().Contacts["bob"].Recv.Securing; got != "" {
		t.Fatalf("the key being secured is still kept: %q", got)
	}
}

var errKilled = errors.New("killed between KEY and the state write")

// TestAttackKeyCrashBeforeSave: alice's process dies after the server
// applied KEY and before the state said so. The next process gets the
// confirmation again; its KEY gets AUTH. Before, the confirmation was
// then dropped and the contact stuck; now the key saved before KEY says
// the queue was secured with this very confirmation.
func TestAttackKeyCrashBeforeSave(t *testing.T) {
	addr := servertest.Start(t)
	ctx := context.Background()
	dir := t.TempDir()
	alicePath := filepath.Join(dir, "alice")
	alice, bob := newAgent(t, alicePath), newAgent(t, filepath.Join(dir, "bob"))
	alice.testStep = func(step string, _ *client.Conn) error {
		if step == "key" {
			return errKilled
		}
		return nil
	}
	startHandshake(t, alice, bob, addr, addr)
	waitFor(t, alice, NoticeUndecrypted) // "securing the queue failed: killed …"
	crash(alice)

	alice2 := newAgent(t, alicePath)
	if err := alice2.Listen(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, alice2, EventConnected)
	waitFor(t, bob, EventConnected)
	if err := bob.Send(ctx, "alice", "made it"); err != nil {
		t.Fatal(err)
	}
	if e, _ := waitFor(t, alice2, EventMessage); e.Text != "made it" {
		t.Fatalf("alice got %+v", e)
	}
}

// TestAttackAnswerLost: alice secured her queue and saved bob's, and her
// process died before her confirmation of his queue went. Before, bob's
// confirmation, delivered again, was a duplicate to ignore, and bob
// waited for good; now alice keeps her answer until bob's hello and
// sends it again.
func TestAttackAnswerLost(t *testing.T) {
	addr := servertest.Start(t)
	dir := t.TempDir()
	alicePath := filepath.Join(dir, "alice")
	alice, bob := newAgent(t, alicePath), newAgent(t, filepath.Join(dir, "bob"))
	alice.testStep = func(step string, _ *client.Conn) error {
		if step == "answer" {
			return errKilled
		}
		return nil
	}
	startHandshake(t, alice, bob, addr, addr)
	waitFor(t, alice, NoticeUndecrypted) // "answering the confirmation failed: killed …"
	crash(alice)

	alice2 := newAgent(t, alicePath)
	if err := alice2.Listen(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, bob, EventConnected)
	waitFor(t, alice2, EventConnected)
	if a := alice2.State().Contacts["bob"].Send.Answer; a != nil {
		t.Fatal("the answer is still kept after bob's hello")
	}
}

// TestHelloLost: bob secured his queue with alice's confirmation and his
// process died before his hello went. He stays "joining"; alice's
// confirmation, delivered again, makes him say hello then.
func TestHelloLost(t *testing.T) {
	addr := servertest.Start(t)
	dir := t.TempDir()
	bobPath := filepath.Join(dir, "bob")
	alice, bob := newAgent(t, filepath.Join(dir, "alice")), newAgent(t, bobPath)
	bob.testStep = func(step string, _ *client.Conn) error {
		if step == "hello" {
			return errKilled
		}
		return nil
	}
	startHandshake(t, alice, bob, addr, addr)
	waitFor(t, bob, NoticeUndecrypted) // "saying hello failed: killed …"
	crash(bob)

	bob2 := newAgent(t, bobPath)
	if got := bob2.State().Contacts["alice"].Status; got != StatusJoining {
		t.Fatalf("bob's contact is %s before his hello went; want %s", got, StatusJoining)
	}
	if err := bob2.Listen(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, bob2, EventConnected)
	waitFor(t, alice, EventConnected)
}
