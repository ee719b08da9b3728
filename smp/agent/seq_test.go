package agent

import (
	"context"
	"errors"
	"math"
	"testing"
)

// sealMessageAs seals m as sender's next body to peer, numbered by the
// test, not by the sender.
func sealMessageAs(t *testing.T, sender *Agent, peer string, m *Message) []byte {
	t.Helper()
	c := sender.State().Contacts[peer]
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
	return body
}

// TestAttackSeqOverflow: a hostile peer sends 2^64-1, then 1. Before, the
// receiver took 2^64-1, LastSeq+1 wrapped to 0, and every number was
// new again: an earlier message replayed by the server was shown once
// more. Now 2^64-1 is refused, and a sender at the last number refuses
// to send rather than wrap.
func TestAttackSeqOverflow(t *testing.T) {
	alice, bob, _ := connectedPair(t)
	c := alice.State().Contacts["bob"]
	old := sealAs(t, bob, "alice", "old") // seq 2
	if got := receiveKinds(t, alice, c, old); got != "message" {
		t.Fatal(got)
	}
	epoch := bob.State().Contacts["alice"].Send.Epoch
	top := sealMessageAs(t, bob, "alice", &Message{Seq: math.MaxUint64, Kind: KindText, Text: "top", Epoch: epoch})
	if got := receiveKinds(t, alice, c, top); got != NoticeUndecrypted {
		t.Fatalf("seq 2^64-1: %q", got)
	}
	if got := receiveKinds(t, alice, c, old); got != NoticeDuplicate {
		t.Fatalf("replayed seq 2: %q", got)
	}

	sq := bob.State().Contacts["alice"].Send
	sq.Seq, sq.Reserved = maxSeq-1, maxSeq
	if got := receiveKinds(t, alice, c, sealAs(t, bob, "alice", "last")); got != "gap message" {
		t.Fatalf("seq 2^64-2: %q", got)
	}
	if err := bob.Send(context.Background(), "alice", "one too many"); !errors.Is(err, ErrSeqExhausted) {
		t.Fatalf("send past the last number: %v", err)
	}
	if sq.Seq != maxSeq {
		t.Fatalf("a refused send moved the count to %d", sq.Seq)
	}
}
