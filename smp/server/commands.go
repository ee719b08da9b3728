package server

import (
	"crypto/ecdh"
	"crypto/rand"
	"strconv"

	"golang.org/x/crypto/nacl/box"
	"ssms.dev/ssms/smp"
)

// handle runs one transmission from c and queues the response (and any
// delivery it causes) on c's outbox, in order.
func (s *Server) handle(c *client, t *smp.Transmission) {
	s.counters.received(t.Command)
	reply := func(r smp.Command) {
		if e, ok := r.(smp.Err); ok {
			s.counters.refused(e.Type)
		}
		c.send(t.ConnID, r)
	}
	if t.Err != "" {
		reply(smp.Err{Type: t.Err})
		return
	}
	if e := credentials(t); e != "" {
		reply(smp.Err{Type: e})
		return
	}
	switch cmd := t.Command.(type) {
	case smp.Conn:
		s.create(c, cmd)
	case smp.Send:
		r, q, wait := s.send(t, cmd)
		if wait != nil && wait() != nil {
			r, q = smp.Err{Type: smp.ErrInternal}, nil
		}
		reply(r)
		if q != nil { // deliver after the OK, even to a sender subscribed on the same connection
			s.mu.Lock()
			s.deliver(q)
			s.mu.Unlock()
		}
	default:
		s.recipient(c, t)
	}
}

// credentials checks which of connection ID and signature a command needs.
func credentials(t *smp.Transmission) smp.ErrorType {
	hasID, hasSig := len(t.ConnID) > 0, len(t.Signature) > 0
	switch t.Command.(type) {
	case smp.Conn:
		if hasID || hasSig {
			return smp.Syntax(smp.SyntaxHasCredentials)
		}
	case smp.Send:
		if !hasID {
			return smp.Syntax(smp.SyntaxNoConnID)
		}
	default:
		if !hasID || !hasSig {
			return smp.Syntax(smp.SyntaxNoCredentials)
		}
	}
	return ""
}

func (s *Server) create(c *client, cmd smp.Conn) {
	var serverDH *ecdh.PublicKey
	q := &queue{rkey: cmd.RecipientKey}
	if cmd.DHKey != nil {
		priv, err := ecdh.X25519().GenerateKey(rand.Reader)
		if err != nil {
			c.send(nil, smp.Err{Type: smp.ErrInternal})
			return
		}
		shared := new([32]byte)
		box.Precompute(shared, (*[32]byte)(cmd.DHKey.Bytes()), (*[32]byte)(priv.Bytes()))
		q.box, serverDH = shared, priv.PublicKey()
	}
	s.mu.Lock()
	if !s.canCreate(c) {
		s.mu.Unlock()
		s.counters.refused(smp.ErrAuth)
		c.send(nil, smp.Err{Type: smp.ErrAuth})
		return
	}
	c.created.n++
	q.owner = c.created
	s.added()
	for {
		q.rid, q.sid = newID(), newID()
		if _, taken := s.byRID[q.rid]; !taken && s.bySID[q.rid] == nil && s.byRID[q.sid] == nil && s.bySID[q.sid] == nil && q.rid != q.sid {
			break
		}
	}
	s.byRID[q.rid], s.bySID[q.sid] = q, q
	q.sub = c
	c.subscribed[q.rid] = q
	wait := s.persist("NEW", smp.Encode(q.rid[:]), smp.Encode(q.sid[:]), q.rkey.String())
	if q.box != nil {
		// One file, written in order: BOX durable means NEW is too.
		wait = s.persist("BOX", smp.Encode(q.rid[:]), smp.Encode(q.box[:]))
	}
	s.mu.Unlock()
	if err := wait(); err != nil {
		// Not durable: undone, so that a queue nobody was told of does
		// not count against the limits. No one else knows its IDs yet.
		s.mu.Lock()
		s.remove(q)
		s.mu.Unlock()
		c.send(nil, smp.Err{Type: smp.ErrInternal})
		return
	}
	c.send(nil, smp.IDs{RecipientID: q.rid[:], SenderID: q.sid[:], ServerDHKey: serverDH})
}

// authorise finds the queue a recipient command names and checks its
// signature. Every refusal costs one verification whose work depends only
// on the signature's length (smp.Verify): an unknown queue, or a key of
// another type or size, costs what a known one does.
func (s *Server) authorise(t *smp.Transmission) *queue {
	rid, ok := toID(t.ConnID)
	s.mu.Lock()
	q := s.byRID[rid]
	if !ok {
		q = nil
	}
	var key *smp.PublicKey
	if q != nil {
		key = q.rkey
	}
	repeat := q != nil && q.verified.matches(t.Signed, t.Signature)
	s.mu.Unlock()
	if repeat {
		return q
	}
	if !s.verify(key, t.Signed, t.Signature) {
		return nil
	}
	if len(t.Signed)+len(t.Signature) <= maxVerifiedTx {
		s.mu.Lock()
		q.verified = &verifiedTx{signed: t.Signed, sig: t.Signature}
		s.mu.Unlock()
	}
	return q
}

func (s *Server) recipient(c *client, t *smp.Transmission) {
	q := s.authorise(t)
	if q == nil {
		s.counters.refused(smp.ErrAuth)
		c.send(t.ConnID, smp.Err{Type: smp.ErrAuth})
		return
	}
	s.mu.Lock()
	resp, wait, deliver := s.recipientLocked(c, t, q)
	s.mu.Unlock()
	if err := wait(); err != nil {
		resp, deliver = smp.Err{Type: smp.ErrInternal}, false
	}
	c.send(t.ConnID, resp)
	if deliver {
		s.mu.Lock()
		s.deliver(q)
		s.mu.Unlock()
	}
}

// recipientLocked runs a recipient command with s.mu held. It returns the
// response, a wait for its event to be durable, and whether to deliver
// after responding.
func (s *Server) recipientLocked(c *client, t *smp.Transmission, q *queue) (smp.Command, func() error, bool) {
	none := func() error { return nil }
	if s.byRID[q.rid] != q { // deleted while we verified
		return smp.Err{Type: smp.ErrAuth}, none, false
	}
	rid := smp.Encode(q.rid[:])
	switch cmd := t.Command.(type) {
	case smp.Sub:
		if q.sub != nil && q.sub != c {
			old := q.sub
			delete(old.subscribed, q.rid)
			old.send(q.rid[:], smp.End{})
		}
		q.sub, c.subscribed[q.rid] = c, q
		q.delivered = false // the message in flight, if any, goes to the new subscriber
		return smp.OK{}, none, true
	case smp.Key:
		if q.skey != nil {
			return smp.Err{Type: smp.ErrAuth}, none, false
		}
		q.skey = cmd.SenderKey
		return smp.OK{}, s.persist("KEY", rid, cmd.SenderKey.String()), false
	case smp.Ack:
		wait := none
		if q.delivered {
			acked := q.msgs[0]
			s.dropped(q, acked)
			q.msgs, q.delivered = q.msgs[1:], false
			if s.log != nil && s.log.messages {
				// Named by its time: expiry drops messages without an
				// event, so a position would not be stable on replay.
				wait = s.persist("ACK", rid, strconv.FormatInt(acked.received.UnixNano(), 10))
			}
		}
		return smp.OK{}, wait, true
	case smp.Hold:
		if !q.suspended {
			q.suspended, q.heldAt = true, s.cfg.Now()
		}
		// The time is logged so the grace period survives restarts.
		return smp.OK{}, s.persist("HOLD", rid, strconv.FormatInt(q.heldAt.UnixNano(), 10)), false
	case smp.Del:
		s.remove(q)
		return smp.OK{}, s.persist("DEL", rid), false
	}
	return smp.Err{Type: smp.ErrInternal}, none, false
}

// send handles SEND: the queue must exist and not be suspended, unsigned
// before KEY, signed by the sender key after.
func (s *Server) send(t *smp.Transmission, cmd smp.Send) (smp.Command, *queue, func() error) {
	sid, ok := toID(t.ConnID)
	s.mu.Lock()
	q := s.bySID[sid]
	if !ok {
		q = nil
	}
	var skey *smp.PublicKey
	if q != nil {
		skey = q.skey
	}
	s.mu.Unlock()
	// A signed SEND costs one verification on every path, as in
	// authorise: against the sender key if there is one, else (unknown
	// queue, or not secured yet) against nothing, which fails after the
	// same work. An unsigned one costs none on every path.
	if len(t.Signature) > 0 {
		if !s.verify(skey, t.Signed, t.Signature) {
			return smp.Err{Type: smp.ErrAuth}, nil, nil
		}
	} else if q == nil || skey != nil {
		return smp.Err{Type: smp.ErrAuth}, nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bySID[sid] != q || q.suspended {
		return smp.Err{Type: smp.ErrAuth}, nil, nil
	}
	s.expire(q)
	if !s.fits(q, cmd.Body) {
		return smp.Err{Type: smp.ErrSize}, nil, nil
	}
	m := message{received: s.cfg.Now(), body: cmd.Body, binary: cmd.Binary}
	s.stored(q, m)
	s.counters.messages.Add(1)
	wait := func() error { return nil }
	if s.log != nil && s.log.messages {
		durable := s.persist("MSG", smp.Encode(q.rid[:]), strconv.FormatInt(m.received.UnixNano(), 10), kind(m.binary), smp.Encode(m.body))
		wait = func() error {
			err := durable()
			if err != nil { // answered ERR INTERNAL: not kept, as after a restart
				s.mu.Lock()
				s.unsend(q, m)
				s.mu.Unlock()
			}
			return err
		}
	}
	return smp.OK{}, q, wait
}

// deliver sends the queue's first message to its subscriber, unless one is
// in flight. Expired messages are dropped first. s.mu is held.
func (s *Server) deliver(q *queue) {
	s.expire(q)
	if q.sub == nil || q.delivered || len(q.msgs) == 0 {
		return
	}
	m := q.msgs[0]
	q.delivered = true
	body, binary := m.body, m.binary
	if q.box != nil {
		var nonce [24]byte
		rand.Read(nonce[:])
		body, binary = box.SealAfterPrecomputation(nonce[:], m.body, &nonce, q.box), true
	}
	q.sub.send(q.rid[:], smp.Msg{Time: m.received, Body: body, Binary: binary})
}

// expire drops messages older than the TTL (not one in flight: it is the
// recipient's once delivered). s.mu is held.
func (s *Server) expire(q *queue) {
	cutoff := s.cfg.Now().Add(-s.cfg.MessageTTL)
	start := 0
	if q.delivered {
		start = 1
	}
	kept := q.msgs[:start]
	for _, m := range q.msgs[start:] {
		if m.received.Before(cutoff) {
			s.dropped(q, m)
		} else {
			kept = append(kept, m)
		}
	}
	q.msgs = kept
}
