package agent

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
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
)

// Notice is one observation about a queue's messages.
type Notice struct {
	Kind   string
	Detail string
}

// accept decides what to do with message m (plain is its plaintext) on
// queue r: whether to show it, and what was noticed. It updates r.
func (r *RecvQueue) accept(m *Message, plain []byte) (bool, []Notice) {
	sum := sha256.Sum256(plain)
	var notes []Notice
	note := func(kind, format string, args ...any) {
		notes = append(notes, Notice{kind, fmt.Sprintf(format, args...)})
	}
	switch {
	case m.Resync || r.Resync:
		if m.Seq <= r.LastSeq && !m.Resync {
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

// next fills in the sequence number and chain of the next message on s,
// and says whether the state must be saved first (a new reserved block).
func (s *SendQueue) next(m *Message) bool {
	if s.Resync {
		s.Seq, s.Resync = s.Reserved, false
		m.Resync = true
	}
	s.Seq++
	m.Seq = s.Seq
	if s.LastHash != nil && !m.Resync {
		m.Prev = base64.StdEncoding.EncodeToString(s.LastHash)
	}
	if s.Seq > s.Reserved {
		s.Reserved = s.Seq + reserveBlock
		return true
	}
	return false
}

// sent records the plaintext of the message just sent, for the chain.
func (s *SendQueue) sent(plain []byte) {
	sum := sha256.Sum256(plain)
	s.LastHash = bytes.Clone(sum[:])
}
