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

// canCreate says whether c may create one more queue. s.mu is held.
func (s *Server) canCreate(c *client) bool {
	return s.held.queues < s.cfg.MaxQueues && c.created < s.cfg.ConnQueues
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
