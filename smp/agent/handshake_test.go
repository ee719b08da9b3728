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

var errKilled = errors.New("killed at this step")

// crashDuringHandshake runs a handshake in which the side named crashes
// ("alice" the inviter, "bob" the joiner) is killed at step (see
// Agent.testStep), then restarts it and returns both once the handshake
// is done.
func crashDuringHandshake(t *testing.T, step, crashes string) (alice, bob *Agent) {
	t.Helper()
	addr := servertest.Start(t)
	dir := t.TempDir()
	path := map[string]string{"alice": filepath.Join(dir, "alice"), "bob": filepath.Join(dir, "bob")}
	alice, bob = newAgent(t, path["alice"]), newAgent(t, path["bob"])
	victim := map[string]*Agent{"alice": alice, "bob": bob}[crashes]
	victim.testStep = func(s string, _ *client.Conn) error {
		if s == step {
			return errKilled
		}
		return nil
	}
	startHandshake(t, alice, bob, addr, addr)
	waitFor(t, victim, NoticeUndecrypted) // "… failed: killed at this step"
	crash(victim)

	again := newAgent(t, path[crashes])
	if err := again.Listen(context.Background()); err != nil {
		t.Fatal(err)
	}
	if crashes == "alice" {
		alice = again
	} else {
		bob = again
	}
	waitFor(t, alice, EventConnected)
	waitFor(t, bob, EventConnected)
	return alice, bob
}

// TestAttackKeyCrashBeforeSave: alice's process dies after the server
// applied KEY and before the state said so. The next process gets the
// confirmation again; its KEY gets AUTH. Before, the confirmation was
// then dropped and the contact stuck; now the key saved before KEY says
// the queue was secured with this very confirmation.
func TestAttackKeyCrashBeforeSave(t *testing.T) {
	alice, bob := crashDuringHandshake(t, "key", "alice")
	if err := bob.Send(context.Background(), "alice", "made it"); err != nil {
		t.Fatal(err)
	}
	if e, _ := waitFor(t, alice, EventMessage); e.Text != "made it" {
		t.Fatalf("alice got %+v", e)
	}
}

// TestAttackAnswerLost: alice secured her queue and saved bob's, and her
// process died before her confirmation of his queue went. Before, bob's
// confirmation, delivered again, was a duplicate to ignore, and bob
// waited for good; now alice keeps her answer until bob's hello and
// sends it again.
func TestAttackAnswerLost(t *testing.T) {
	alice, _ := crashDuringHandshake(t, "answer", "alice")
	if a := alice.State().Contacts["bob"].Send.Answer; a != nil {
		t.Fatal("the answer is still kept after bob's hello")
	}
}

// TestHelloLost: bob secured his queue with alice's confirmation and his
// process died before his hello went. He stayed "joining"; alice's
// confirmation, delivered again, made him say hello then.
func TestHelloLost(t *testing.T) {
	crashDuringHandshake(t, "hello", "bob")
}
