package agent

import (
	"strings"
	"testing"
	"time"
)

// sealAs makes the body contact's peer would send next on the queue
// alice receives on, exactly as sendMessage does, without a server: the
// test then plays a server that drops, repeats, reorders and alters.
func sealAs(t *testing.T, sender *Agent, peer string, text string) []byte {
	t.Helper()
	c := sender.State().Contacts[peer]
	m := &Message{Kind: KindText, Text: text}
	c.Send.next(m)
	plain, err := marshalMessage(m)
	if err != nil {
		t.Fatal(err)
	}
	dh, _ := loadDHPrivate(c.Send.DH)
	pub, _ := loadDHPublic(c.Send.PeerEK)
	body, err := sealMessage(plain, sharedKey(dh, pub))
	if err != nil {
		t.Fatal(err)
	}
	c.Send.sent(plain)
	return body
}

func kindsOf(events []Event) string {
	var out []string
	for _, e := range events {
		out = append(out, e.Kind)
	}
	return strings.Join(out, " ")
}

func TestMisbehavingServerIsDetected(t *testing.T) {
	alice, bob, _ := connectedPair(t)
	c := alice.State().Contacts["bob"]
	now := time.Now()
	var bodies [][]byte
	for i := range 6 {
		bodies = append(bodies, sealAs(t, bob, "alice", "m"+string(rune('2'+i)))) // seq 2..7 (1 was hello)
	}
	tampered := append([]byte(nil), bodies[5]...)
	tampered[len(tampered)-1] ^= 1
	for _, step := range []struct {
		body []byte
		want string
	}{
		{bodies[0], "message"},      // 2
		{bodies[0], "duplicate"},    // 2 again: replayed
		{bodies[2], "gap message"},  // 4: 3 was held back
		{bodies[1], "late message"}, // 3 after 4: reordered
		{bodies[1], "duplicate"},    // 3 again
		{bodies[4], "gap message"},  // 6: 5 dropped
		{tampered, "undecrypted"},   // 7, altered
		{bodies[5], "message"},      // 7
	} {
		events, err := alice.receive(c, step.body, now)
		if err != nil {
			t.Fatal(err)
		}
		if got := kindsOf(events); got != step.want {
			t.Fatalf("got %q, want %q", got, step.want)
		}
	}
	if got := c.Recv.Missing; len(got) != 1 || got[0] != 5 {
		t.Fatalf("missing %v, want [5]", got)
	}
}

func TestAcceptHistoryMismatch(t *testing.T) {
	r := &RecvQueue{}
	if show, notes := r.accept(&Message{Seq: 1, Kind: KindText}, []byte("one")); !show || len(notes) != 0 {
		t.Fatal(show, notes)
	}
	// Message 2 whose prev names another message 1: a server that swapped histories.
	if _, notes := r.accept(&Message{Seq: 2, Kind: KindText, Prev: "AAAA"}, []byte("two")); len(notes) != 1 || notes[0].Kind != NoticeMismatch {
		t.Fatalf("notes %+v", notes)
	}
	// A sender that restarted jumps ahead and says so: no gap alarm.
	if show, notes := r.accept(&Message{Seq: 300, Kind: KindText, Resync: true}, []byte("x")); !show || len(notes) != 1 || notes[0].Kind != NoticeResync {
		t.Fatalf("resync: %v %+v", show, notes)
	}
}

func TestSendReservesAhead(t *testing.T) {
	s := &SendQueue{}
	var m Message
	if !s.next(&m) || m.Seq != 1 || s.Reserved != 1+reserveBlock {
		t.Fatalf("first: %+v %+v", m, s)
	}
	for i := 2; i <= reserveBlock+1; i++ {
		if s.next(&Message{}) {
			t.Fatalf("saved again at %d", i)
		}
	}
	if !s.next(&Message{}) {
		t.Fatal("no save when the block ran out")
	}
	// After a crash, the next number is beyond anything that may have gone out.
	s.Resync = true
	m = Message{}
	s.next(&m)
	// (and beyond the clock in microseconds, for a state rolled back).
	if !m.Resync || m.Seq <= 2*reserveBlock+2 || m.Seq < uint64(time.Now().Add(-time.Minute).UnixMicro()) || m.Seq > maxSeq || m.Prev != "" {
		t.Fatalf("after a crash: %+v", m)
	}
}
