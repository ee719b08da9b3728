package agent

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ssms.dev/ssms/signer"
	"ssms.dev/ssms/smp"
	"ssms.dev/ssms/smp/client"
	"ssms.dev/ssms/smp/server/servertest"
)

// newAgent opens a fresh state in dir for a person.
func newAgent(t testing.TB, path string) *Agent {
	t.Helper()
	store, st, err := OpenStore(path, []byte("passphrase of "+filepath.Base(path)))
	if err != nil {
		t.Fatal(err)
	}
	a := New(store, st)
	t.Cleanup(func() { a.Close(); store.Close() })
	return a
}

// waitFor reads events until one of kind arrives, returning those before.
func waitFor(t testing.TB, a *Agent, kind string) (Event, []Event) {
	t.Helper()
	var seen []Event
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-a.Events():
			if e.Kind == kind {
				return e, seen
			}
			seen = append(seen, e)
		case <-timeout:
			t.Fatalf("no %s event; saw %+v", kind, seen)
		}
	}
}

// connect makes alice invite bob and bob join, through addr.
func connect(t testing.TB, alice, bob *Agent, addr smp.Address) *Invitation {
	t.Helper()
	inv := startHandshake(t, alice, bob, addr, addr)
	waitFor(t, bob, EventConnected)
	waitFor(t, alice, EventConnected)
	return inv
}

// connectedPair starts a server and connects a fresh alice and bob
// through it; alicePath is alice's state, for restarting her.
func connectedPair(t testing.TB) (alice, bob *Agent, alicePath string) {
	t.Helper()
	addr := servertest.Start(t)
	dir := t.TempDir()
	alicePath = filepath.Join(dir, "alice")
	alice, bob = newAgent(t, alicePath), newAgent(t, filepath.Join(dir, "bob"))
	connect(t, alice, bob, addr)
	return alice, bob, alicePath
}

// startHandshake makes alice invite bob through addr, bob join with his
// queue on reply, and alice listen; it does not wait for the end.
func startHandshake(t testing.TB, alice, bob *Agent, addr, reply smp.Address) *Invitation {
	t.Helper()
	ctx := context.Background()
	inv, err := alice.Invite(ctx, "bob", addr)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ParseInvitation(inv.String())
	if err != nil {
		t.Fatal(err)
	}
	if err := bob.Join(ctx, "alice", parsed, reply); err != nil {
		t.Fatal(err)
	}
	if err := alice.Listen(ctx); err != nil {
		t.Fatal(err)
	}
	return inv
}

func TestConversation(t *testing.T) {
	addr := servertest.Start(t)
	dir := t.TempDir()
	alice, bob := newAgent(t, filepath.Join(dir, "alice")), newAgent(t, filepath.Join(dir, "bob"))
	inv := connect(t, alice, bob, addr)
	ctx := context.Background()

	for i, text := range []string{"hi bob", "how are you?", strings.Repeat("long ", 2000)} {
		if err := alice.Send(ctx, "bob", text); err != nil {
			t.Fatal(err)
		}
		e, noise := waitFor(t, bob, EventMessage)
		if e.Text != text || e.Contact != "alice" || e.Seq != uint64(i+1) || len(noise) > 0 {
			t.Fatalf("bob got %+v (and %+v)", e, noise)
		}
	}
	if err := bob.Send(ctx, "alice", "fine, thanks"); err != nil {
		t.Fatal(err)
	}
	if e, _ := waitFor(t, alice, EventMessage); e.Text != "fine, thanks" || e.Seq != 2 { // 1 was bob's hello
		t.Fatalf("alice got %+v", e)
	}

	// Eve has the invitation: the queue is secured now, so she can send
	// nothing to it, and she has no recipient ID to read with.
	eve, err := client.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer eve.Close()
	var e *smp.Error
	if err := eve.Send(ctx, inv.SenderID, nil, make([]byte, WireSize)); !errors.As(err, &e) || e.Type != smp.ErrAuth {
		t.Fatalf("eve's send with the invitation's sender ID: %v", err)
	}
	// The inviter forgot the sender ID once the queue was secured.
	if sid := alice.State().Contacts["bob"].Recv.SID; sid != nil {
		t.Fatalf("alice still keeps the sender ID %x", sid)
	}
}

func TestConfirmationIgnoresStrangers(t *testing.T) {
	addr := servertest.Start(t)
	ctx := context.Background()
	dir := t.TempDir()
	alice, bob := newAgent(t, filepath.Join(dir, "alice")), newAgent(t, filepath.Join(dir, "bob"))
	inv, err := alice.Invite(ctx, "bob", addr)
	if err != nil {
		t.Fatal(err)
	}
	// Eve saw the invitation and gets in first with junk.
	eve, err := client.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer eve.Close()
	if err := eve.Send(ctx, inv.SenderID, nil, make([]byte, WireSize)); err != nil {
		t.Fatal(err)
	}
	if err := alice.Listen(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _ = waitFor(t, alice, NoticeUndecrypted); false {
	}
	if err := bob.Join(ctx, "alice", inv, addr); err != nil {
		t.Fatal(err)
	}
	waitFor(t, alice, EventConnected)
	waitFor(t, bob, EventConnected)
}

func TestStateSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	alice, bob, alicePath := connectedPair(t)
	if err := alice.Close(); err != nil {
		t.Fatal(err)
	}
	alice.store.Close()

	if _, _, err := OpenStore(alicePath, []byte("wrong")); !errors.Is(err, ErrPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	alice2 := newAgent(t, alicePath)
	if _, _, err := OpenStore(alicePath, []byte("passphrase of alice")); !errors.Is(err, ErrLocked) {
		t.Fatalf("second process: %v", err)
	}
	if err := alice2.Listen(ctx); err != nil {
		t.Fatal(err)
	}
	if err := bob.Send(ctx, "alice", "still there?"); err != nil {
		t.Fatal(err)
	}
	if e, noise := waitFor(t, alice2, EventMessage); e.Text != "still there?" || len(noise) > 0 {
		t.Fatalf("after restart: %+v %+v", e, noise)
	}
	if err := alice2.Send(ctx, "bob", "yes"); err != nil {
		t.Fatal(err)
	}
	if e, noise := waitFor(t, bob, EventMessage); e.Text != "yes" || len(noise) > 0 {
		t.Fatalf("bob: %+v %+v", e, noise)
	}
}

// TestConversationRSAPSS: one side signs its commands with RSA-PSS keys.
func TestConversationRSAPSS(t *testing.T) {
	addr := servertest.Start(t)
	dir := t.TempDir()
	alice, bob := newAgent(t, filepath.Join(dir, "alice")), newAgent(t, filepath.Join(dir, "bob"))
	alice.Algorithm = signer.RSAPSS
	connect(t, alice, bob, addr)
	if err := alice.Send(context.Background(), "bob", "signed with RSA-PSS"); err != nil {
		t.Fatal(err)
	}
	if e, _ := waitFor(t, bob, EventMessage); e.Text != "signed with RSA-PSS" {
		t.Fatalf("bob got %+v", e)
	}
	k, err := loadSigner(alice.State().Contacts["bob"].Recv.RecipientKey)
	if err != nil || k.Public().Algorithm() != signer.RSAPSS {
		t.Fatalf("alice's recipient key: %v %v", k, err)
	}
}
