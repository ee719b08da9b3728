package agent

import (
	"testing"
	"time"
)

// receiveKinds has a receive c's body and returns the kinds it reported.
func receiveKinds(t *testing.T, a *Agent, c *Contact, body []byte) string {
	t.Helper()
	events, err := a.receive(c, body, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return kindsOf(events)
}

// TestAttackResyncReplayedForever: the server keeps bob's message from
// after his crash (the resync) and plays it again later, and plays again
// a message that followed it. Before, every replay of the resync was
// taken as a new start, which made the message after it new again, and a
// message from before the crash was shown once more too.
func TestAttackResyncReplayedForever(t *testing.T) {
	alice, bob, _ := connectedPair(t)
	c := alice.State().Contacts["bob"]
	before := sealAs(t, bob, "alice", "before the crash") // 2
	bob.State().Contacts["alice"].Send.Resync = true      // bob crashed and came back
	resync := sealAs(t, bob, "alice", "back")
	after := sealAs(t, bob, "alice", "after")
	for i, step := range []struct {
		body []byte
		want string
	}{
		{before, "message"},
		{resync, "resync message"},
		{after, "message"},
		{resync, "duplicate"}, // the captured resync, replayed
		{after, "duplicate"},  // and what followed it
		{before, "duplicate"}, // a message from before the restart
		{resync, "duplicate"},
	} {
		if got := receiveKinds(t, alice, c, step.body); got != step.want {
			t.Fatalf("step %d: got %q, want %q", i, got, step.want)
		}
	}
}

// TestAttackReplayAfterReceiverCrash: alice takes two messages, then
// crashes. Before, the receive side was saved only now and then, and
// after a crash the first message that came was taken as the new start:
// a replay of one already shown was shown again. Now the receive side is
// saved before each ACK, and the replay is a duplicate.
func TestAttackReplayAfterReceiverCrash(t *testing.T) {
	alice, bob, alicePath := connectedPair(t)
	one, two := sealAs(t, bob, "alice", "one"), sealAs(t, bob, "alice", "two")
	for _, body := range [][]byte{one, two} {
		if got := receiveKinds(t, alice, alice.State().Contacts["bob"], body); got != "message" {
			t.Fatalf("got %q", got)
		}
	}
	crash(alice)
	alice2 := newAgent(t, alicePath)
	c := alice2.State().Contacts["bob"]
	for _, body := range [][]byte{one, two} {
		if got := receiveKinds(t, alice2, c, body); got != "duplicate" {
			t.Fatalf("a message replayed after the crash: got %q, want duplicate", got)
		}
	}
	if got := receiveKinds(t, alice2, c, sealAs(t, bob, "alice", "three")); got != "message" {
		t.Fatalf("the next message: got %q", got)
	}
}

// TestEpochMemoryBounded: a sender that restarts more often than the
// receiver remembers costs no more memory, and a message from an epoch
// already forgotten is refused all the same (its number is behind).
func TestEpochMemoryBounded(t *testing.T) {
	r := &RecvQueue{}
	s := &SendQueue{}
	var first Message
	s.next(&first)
	for i := 0; i < maxEpochs+10; i++ {
		s.Resync = true
		var m Message
		s.next(&m)
		if i == 0 {
			first = m
		}
		if show, _ := r.accept(&m, []byte{byte(i)}); !show {
			t.Fatalf("restart %d refused", i)
		}
	}
	if len(r.Epochs) != maxEpochs {
		t.Fatalf("%d epochs remembered; the limit is %d", len(r.Epochs), maxEpochs)
	}
	if show, notes := r.accept(&first, []byte("again")); show {
		t.Fatalf("a resync from a forgotten epoch was taken: %+v", notes)
	}
}

// TestLegacyResyncFlag: state from before epochs, after this client
// crashed, counts again from the next message, but not from a replay of
// one at or below the last number it saved.
func TestLegacyResyncFlag(t *testing.T) {
	r := &RecvQueue{LastSeq: 10, Resync: true}
	if show, _ := r.accept(&Message{Seq: 9, Kind: KindText}, []byte("old")); show {
		t.Fatal("a replay below the saved number was taken as the new start")
	}
	if show, notes := r.accept(&Message{Seq: 12, Kind: KindText}, []byte("new")); !show || len(notes) != 1 || notes[0].Kind != NoticeResync || r.Resync {
		t.Fatalf("%v %+v %+v", show, notes, r)
	}
}
