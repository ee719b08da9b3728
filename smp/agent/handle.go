package agent

import (
	"context"
	"errors"
	"time"

	"ssms.dev/ssms/internal/strictjson"
	"ssms.dev/ssms/smp"
	"ssms.dev/ssms/smp/client"
)

// ackTimeout bounds the commands handling one delivery sends.
const ackTimeout = 30 * time.Second

func marshalMessage(m *Message) ([]byte, error) { return strictjson.Marshal(m) }

func (a *Agent) emit(e Event) {
	select {
	case a.events <- e:
	case <-a.stopping: // nobody may be reading any more
	}
}

// handle processes one delivery from session s, then acknowledges it.
// Anything that is not a valid message for the queue is reported and
// acknowledged, so that it does not block the queue.
func (a *Agent) handle(s *client.Session, d client.Delivery) {
	if d.Msg == nil {
		return // END: another client of ours took the subscription over
	}
	q := s.Queue(d.RecipientID)
	a.mu.Lock()
	c := a.st.byQueue(s.Addr.String(), d.RecipientID)
	a.mu.Unlock()
	if q == nil || c == nil {
		return
	}
	// Not a.ctx: a delivery being handled when Close comes is finished.
	ctx, cancel := context.WithTimeout(context.Background(), ackTimeout)
	defer cancel()
	body, err := q.Open(d.Msg)
	if err != nil {
		a.emit(Event{Contact: c.Name, Kind: NoticeUndecrypted, Text: "a delivery did not decrypt with the server's key; ignored"})
	} else if c.Recv.PeerDH == nil {
		a.confirmation(ctx, s, q, c, body)
	} else {
		a.message(c, body, d.Msg.Time)
	}
	s.Do(ctx, func(cn *client.Conn) error { return cn.Ack(ctx, q) })
}

// confirmation handles the first message on a queue: the sender's key. The
// queue is secured with it, the sender ID forgotten, and, if the sender
// sent an invitation to its own queue, we confirm that one in turn.
func (a *Agent) confirmation(ctx context.Context, s *client.Session, q *client.Queue, c *Contact, body []byte) {
	ek, err := loadDHPrivate(c.Recv.EncKey)
	if err != nil {
		return
	}
	conf, err := OpenConfirmation(body, ek)
	if err != nil {
		// Anyone who saw the invitation could send this: ignore it (the spec's rule).
		a.emit(Event{Contact: c.Name, Kind: NoticeUndecrypted, Text: "a message that is not a valid confirmation; ignored"})
		return
	}
	if err := s.Do(ctx, func(cn *client.Conn) error { return cn.Secure(ctx, q, conf.SenderKey) }); err != nil {
		a.emit(Event{Contact: c.Name, Kind: NoticeUndecrypted, Text: "securing the queue failed: " + err.Error()})
		return
	}
	peer, _ := smp.ParseDHKey(conf.Body.DH)
	a.mu.Lock()
	c.Recv.PeerDH, c.Recv.SID = peer.Bytes(), nil
	a.mu.Unlock()
	switch {
	case c.Send == nil && conf.Body.Reply != "":
		// We invited; they joined and sent their queue: confirm it.
		inv, _ := ParseInvitation(conf.Body.Reply)
		send, sealed, err := a.prepareConfirmation(inv, "")
		if err == nil {
			a.mu.Lock()
			c.Send, c.Status = send, StatusAccepted
			err = a.save()
			a.mu.Unlock()
		}
		if err == nil {
			err = a.sendConfirmation(ctx, inv, sealed)
		}
		if err != nil {
			a.emit(Event{Contact: c.Name, Kind: NoticeUndecrypted, Text: "answering the confirmation failed: " + err.Error()})
		}
	case c.Send != nil:
		// We joined; this is their confirmation of our queue: both are
		// secured now. Say hello on theirs, so they know.
		a.mu.Lock()
		c.Status = StatusConnected
		a.save()
		a.mu.Unlock()
		if err := a.sendMessage(ctx, c, &Message{Kind: KindHello}); err != nil {
			a.emit(Event{Contact: c.Name, Kind: NoticeUndecrypted, Text: "saying hello failed: " + err.Error()})
			return
		}
		a.emit(Event{Contact: c.Name, Kind: EventConnected})
	default:
		a.mu.Lock()
		a.save()
		a.mu.Unlock()
	}
}

// message handles a message on a secured queue.
func (a *Agent) message(c *Contact, body []byte, at time.Time) {
	for _, e := range a.receive(c, body, at) {
		a.emit(e)
	}
}

// receive decrypts and checks a message, and says what to tell the user.
func (a *Agent) receive(c *Contact, body []byte, at time.Time) []Event {
	a.mu.Lock()
	defer a.mu.Unlock()
	ek, err1 := loadDHPrivate(c.Recv.EncKey)
	peer, err2 := loadDHPublic(c.Recv.PeerDH)
	if err := errors.Join(err1, err2); err != nil {
		return nil
	}
	plain, err := openMessage(body, sharedKey(ek, peer))
	if err != nil {
		if conf, cerr := OpenConfirmation(body, ek); cerr == nil && conf.Body.DH == smp.EncodeDHKey(peer) {
			// The confirmation again: delivered twice (at least once, as the protocol promises).
			return []Event{{Contact: c.Name, Kind: NoticeDuplicate, Text: "the confirmation was delivered again; ignored"}}
		}
	}
	var m *Message
	if err == nil {
		m, err = ParseMessage(plain)
	}
	if err != nil {
		return []Event{{Contact: c.Name, Kind: NoticeUndecrypted, Text: "a message that is not from " + c.Name + " or was altered; ignored: " + err.Error()}}
	}
	show, notes := c.Recv.accept(m, plain)
	var events []Event
	for _, n := range notes {
		events = append(events, Event{Contact: c.Name, Kind: n.Kind, Text: n.Detail, Seq: m.Seq})
	}
	if m.Kind == KindHello && c.Status != StatusConnected {
		c.Status = StatusConnected
		a.save()
		events = append(events, Event{Contact: c.Name, Kind: EventConnected})
	}
	if show && m.Kind == KindText {
		events = append(events, Event{Contact: c.Name, Kind: EventMessage, Text: m.Text, Seq: m.Seq, Time: at})
	}
	return events
}
