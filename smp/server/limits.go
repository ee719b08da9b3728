package server

// held is what the server holds in its queues, kept against the limits of
// Config as messages come and go. Guarded by Server.mu.
type held struct {
	queues   int
	messages int
	bytes    int64
}

// The limits answer with the specification's errors: a message that does
// not fit its queue or the server is ERR SIZE (its size is wrong for what
// is left), and a CONN beyond the queues allowed is ERR AUTH (the
// specification lets a server decide who may create connections).

// owned counts the live queues one connection created, against
// ConnQueues: a DEL gives the place back. A queue points to its creator's
// count rather than to the connection, so a closed connection's queues
// keep only this alive. Guarded by Server.mu.
type owned struct{ n int }

// canCreate says whether c may create one more queue. s.mu is held.
func (s *Server) canCreate(c *client) bool {
	return s.held.queues < s.cfg.MaxQueues && c.created.n < s.cfg.ConnQueues
}

// remove deletes q: from the maps, from its subscriber, from the counts.
// s.mu is held.
func (s *Server) remove(q *queue) {
	delete(s.byRID, q.rid)
	delete(s.bySID, q.sid)
	if q.sub != nil {
		delete(q.sub.subscribed, q.rid)
		q.sub = nil
	}
	if q.owner != nil {
		q.owner.n--
		q.owner = nil
	}
	s.removed(q)
}

// fits says whether body fits q and the server. s.mu is held.
func (s *Server) fits(q *queue, body []byte) bool {
	n := len(body)
	return len(q.msgs) < s.cfg.QueueQuota && q.bytes+n <= s.cfg.QueueBytes &&
		s.held.messages < s.cfg.MaxMessages && s.held.bytes+int64(n) <= s.cfg.MaxBytes
}

// added counts a queue created (or replayed). s.mu is held.
func (s *Server) added() { s.held.queues++ }

// removed counts a queue deleted, with its messages. s.mu is held.
func (s *Server) removed(q *queue) {
	s.held.queues--
	s.dropped(q, q.msgs...)
	q.msgs = nil
}

// stored appends m to q. s.mu is held.
func (s *Server) stored(q *queue, m message) {
	q.msgs = append(q.msgs, m)
	q.bytes += len(m.body)
	s.held.messages++
	s.held.bytes += int64(len(m.body))
}

// dropped uncounts messages taken out of q. s.mu is held.
func (s *Server) dropped(q *queue, ms ...message) {
	for _, m := range ms {
		q.bytes -= len(m.body)
		s.held.messages--
		s.held.bytes -= int64(len(m.body))
	}
}

// unsend takes back m, stored in q, whose event could not be written,
// unless it is in flight already (then it is the recipient's). s.mu is
// held.
func (s *Server) unsend(q *queue, m message) {
	for i, k := range q.msgs {
		if k.received.Equal(m.received) && (i > 0 || !q.delivered) {
			s.dropped(q, k)
			q.msgs = append(q.msgs[:i:i], q.msgs[i+1:]...)
			return
		}
	}
}
