package agent

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// Notice kinds: what the receiving side noticed about the order of
// messages. A server can drop, repeat, delay or reorder what it relays,
// but cannot forge or alter it (the encryption is authenticated), so
// these are the ways it can misbehave, and each is reported.
const (
	NoticeDuplicate   = "duplicate"   // a message seen before, delivered again: ignored
	NoticeGap         = "gap"         // messages skipped: dropped or delayed
	NoticeLate        = "late"        // a skipped message arrived after later ones
	NoticeMismatch    = "mismatch"    // the message does not follow the one before it
	NoticeResync      = "resync"      // one side restarted after a crash; counting starts again
	NoticeUndecrypted = "undecrypted" // a message that does not decrypt: ignored
	NoticeNotSaved    = "not-saved"   // the state could not be saved: the delivery is left on the server
)

// Notice is one observation about a queue's messages.
type Notice struct {
	Kind   string
	Detail string
}

// accept decides what to do with message m (plain is its plaintext) on
// queue r: whether to show it, and what was noticed. It updates r only
// when it shows m.
//
// A sender numbers its messages 1, 2, … across restarts: after a crash it
// jumps past every number it may have used (SendQueue.next) and starts a
// new epoch, a random name it sends, sealed, in every message until the
// next crash. So a message is shown at most once per (epoch, seq): a new
// epoch must go beyond every number seen, an earlier epoch is over, and
// within the epoch a number at or below the last is shown only if it was
// skipped and is still awaited. The last maxEpochs epochs are remembered
// to say which messages are from before a restart; a message of one
// forgotten is refused all the same, as its number is behind.
//
// What this cannot catch: the receive side's own state rolled back to an
// older copy (a backup restored, a snapshot, a local attacker). The copy
// remembers less, so the server can replay every message delivered
// since, and each is shown again as new. Telling a rolled-back file from
// the latest one takes storage that only moves forward (a counter kept
// outside the file, in hardware or with a third party); the state file
// alone cannot.
func (r *RecvQueue) accept(m *Message, plain []byte) (bool, []Notice) {
	sum := sha256.Sum256(plain)
	var notes []Notice
	note := func(kind, format string, args ...any) {
		notes = append(notes, Notice{kind, fmt.Sprintf(format, args...)})
	}
	switch {
	case m.Seq > maxSeq || r.LastSeq > maxSeq: // ParseMessage refuses it; a state may not
		note(NoticeDuplicate, "message %d: beyond the last sequence number; ignored", m.Seq)
		return false, notes
	case m.Epoch != r.Epoch:
		if slices.Contains(r.Epochs, m.Epoch) {
			note(NoticeDuplicate, "message %d is from before the sender's restart; ignored", m.Seq)
			return false, notes
		}
		if m.Seq <= r.LastSeq {
			note(NoticeDuplicate, "message %d claims a restart but is not after message %d: a replay; ignored", m.Seq, r.LastSeq)
			return false, notes
		}
		if r.LastSeq > 0 && m.Prev != base64.StdEncoding.EncodeToString(r.LastHash) {
			// Not chained to the last message seen: a crash, a rolled-back
			// state, or messages lost. After a clean exit the sender chains.
			note(NoticeResync, "the sender restarted without its last state (a crash, or an older copy); counting again from message %d", m.Seq)
		}
		r.Epochs = append(r.Epochs, r.Epoch)
		if len(r.Epochs) > maxEpochs {
			r.Epochs = slices.Delete(r.Epochs, 0, len(r.Epochs)-maxEpochs)
		}
		r.Epoch, r.Missing = m.Epoch, nil
		if !m.Resync {
			// Not the epoch's first message: the server delivered it before
			// the ones just below. They are awaited, not duplicates.
			note(NoticeGap, "messages before %d of the sender's new count are missing (dropped or delayed by the server)", m.Seq)
			for s := m.Seq - 1; s > r.LastSeq && len(r.Missing) < epochReorder; s-- {
				r.Missing = append(r.Missing, s)
			}
		}
	case m.Resync && m.Epoch == "" || r.Resync:
		// m.Resync in the epoch it is in: a sender from before epochs.
		// r.Resync: state from before the receive side was saved per
		// message, after a crash. Either way, only a number beyond the
		// last one seen may start the count again.
		if m.Seq <= r.LastSeq {
			note(NoticeDuplicate, "message %d was delivered before; ignored", m.Seq)
			return false, notes
		}
		who := "the sender"
		if r.Resync {
			who = "this client"
		}
		note(NoticeResync, "%s restarted after a crash; counting again from message %d", who, m.Seq)
		r.Missing, r.Resync = nil, false
	case m.Seq == r.LastSeq+1:
		if r.LastSeq > 0 && m.Prev != base64.StdEncoding.EncodeToString(r.LastHash) {
			note(NoticeMismatch, "message %d does not follow message %d: history differs", m.Seq, r.LastSeq)
		}
	case m.Seq > r.LastSeq+1:
		note(NoticeGap, "messages %d to %d are missing (dropped or delayed by the server)", r.LastSeq+1, m.Seq-1)
		for s := r.LastSeq + 1; s < m.Seq && len(r.Missing) < maxMissing; s++ {
			r.Missing = append(r.Missing, s)
		}
	default: // an old number
		if i := slices.Index(r.Missing, m.Seq); i >= 0 {
			r.Missing = slices.Delete(r.Missing, i, i+1)
			note(NoticeLate, "message %d arrived after message %d: reordered", m.Seq, r.LastSeq)
			return true, notes // shown, but the chain goes on from the latest
		}
		note(NoticeDuplicate, "message %d was delivered before; ignored", m.Seq)
		return false, notes
	}
	r.LastSeq, r.LastHash = m.Seq, sum[:]
	return true, notes
}

// clone is a copy of r that shares nothing accept changes.
func (r *RecvQueue) clone() *RecvQueue {
	c := *r
	c.Missing, c.Epochs = slices.Clone(r.Missing), slices.Clone(r.Epochs)
	return &c
}

// next fills in the sequence number and chain of the next message on s,
// and says whether the state must be saved first (a new reserved block).
//
// A new epoch starts past every number reserved, and past the clock in
// microseconds since 1970: a state rolled back to an older copy has an
// older Reserved, but the clock has moved on. (2^64 microseconds is
// 584,000 years: the numbers stay far below maxSeq.)
func (s *SendQueue) next(m *Message) bool {
	chained := s.restart && !s.Resync
	if s.Resync || s.restart {
		floor := s.Reserved
		if now := time.Now().UnixMicro(); now > 0 && uint64(now) > floor {
			floor = uint64(now)
		}
		s.Seq, s.Resync, s.restart, s.Epoch = floor, false, false, newEpoch()
		m.Resync = true
	}
	m.Epoch = s.Epoch
	s.Seq++
	m.Seq = s.Seq
	if s.LastHash != nil && (!m.Resync || chained) {
		m.Prev = base64.StdEncoding.EncodeToString(s.LastHash)
	}
	if s.Seq > s.Reserved {
		s.Reserved = s.Seq + min(reserveBlock, maxSeq-min(s.Seq, maxSeq))
		return true
	}
	return false
}

// epochReorder is how many numbers just below a new epoch's first
// message seen are awaited, when that message is not the epoch's first.
const epochReorder = 64

// maxSeq is the last sequence number: 2^64-1 is refused, so that
// LastSeq+1 never wraps to 0 and reopens every number to a replay.
const maxSeq = math.MaxUint64 - 1

// ErrSeqExhausted refuses a message on a queue whose sequence numbers
// are used up: the contact must be invited again.
var ErrSeqExhausted = errors.New("the queue's sequence numbers are used up; invite the contact again")

// newEpoch names a sender's count after a restart: 128 random bits.
func newEpoch() string {
	b := make([]byte, epochSize)
	rand.Read(b) // never fails (crypto/rand, Go 1.24 on)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sent records the plaintext of the message just sent, for the chain.
func (s *SendQueue) sent(plain []byte) {
	sum := sha256.Sum256(plain)
	s.LastHash = bytes.Clone(sum[:])
}
