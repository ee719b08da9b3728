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

// inboxSaveDelay is how long pump waits, after a message is taken, for
// another save to write its removal from the inbox before saving itself.
const inboxSaveDelay = 20 * time.Millisecond

func marshalMessage(m *Message) ([]byte, error) { return strictjson.Marshal(m) }

func (a *Agent) emit(e Event) {
	select {
	case a.events <- e:
	case <-a.stopping: // nobody may be reading any more
	}
}

// handle processes one delivery from session s, then acknowledges it.
// Anything that is not a valid message for the queue is reported and
// acknowledged, so that it does not block the queue. What could not be
// finished for a passing reason (the state not saved, the server not
// answering) is not acknowledged: the server delivers it again after the
// next subscription.
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
	ack := true
	body, err := q.Open(d.Msg)
	if err != nil {
		a.emit(Event{Contact: c.Name, Kind: NoticeUndecrypted, Text: "a delivery did not decrypt with the server's key; ignored"})
	} else if c.Recv.PeerDH == nil {
		ack = a.confirmation(ctx, s, q, c, body)
	} else if again, ok := a.confirmationAgain(ctx, c, body); again {
		ack = ok
	} else {
		ack = a.message(c, body, d.Msg.Time)
	}
	if ack {
		s.Do(ctx, func(cn *client.Conn) error { return cn.Ack(ctx, q) })
	}
}

// message handles a message on a secured queue, and says whether to
// acknowledge it: not if what it changed could not be saved.
func (a *Agent) message(c *Contact, body []byte, at time.Time) bool {
	for !a.inboxRoom(c) {
		// The user is not reading: the message waits on the server.
		select {
		case <-a.stopping:
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
	events, err := a.receive(c, body, at)
	for _, e := range events {
		a.emit(e)
	}
	if err != nil {
		a.emit(Event{Contact: c.Name, Kind: NoticeNotSaved, Text: "a message not acknowledged, the server will deliver it again: " + err.Error()})
		return false
	}
	return true
}

// receive decrypts and checks a message, and says what to tell the user.
// What the message changed is saved before it is acknowledged: a crash
// after the ACK must not forget which messages were seen, or the next
// session would take a replay of one for new. If the save fails, the
// queue is as it was and the error says so; the message is not shown.
func (a *Agent) receive(c *Contact, body []byte, at time.Time) ([]Event, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ek, err1 := loadDHPrivate(c.Recv.EncKey)
	peer, err2 := loadDHPublic(c.Recv.PeerDH)
	if err := errors.Join(err1, err2); err != nil {
		return nil, nil
	}
	plain, err := openMessage(body, sharedKey(ek, peer))
	if err != nil {
		if conf, cerr := OpenConfirmation(body, ek); cerr == nil && conf.Body.DH == smp.EncodeDHKey(peer) {
			// The confirmation again: delivered twice (at least once, as the protocol promises).
			return []Event{{Contact: c.Name, Kind: NoticeDuplicate, Text: "the confirmation was delivered again; ignored"}}, nil
		}
	}
	var m *Message
	if err == nil {
		m, err = ParseMessage(plain)
	}
	if err != nil {
		return []Event{{Contact: c.Name, Kind: NoticeUndecrypted, Text: "a message that is not from " + c.Name + " or was altered; ignored: " + err.Error()}}, nil
	}
	was, status, inbox := c.Recv.clone(), c.Status, c.Inbox
	show, notes := c.Recv.accept(m, plain)
	shown := Event{Contact: c.Name, Kind: EventMessage, Text: m.Text, Seq: m.Seq, Time: at}
	if show && m.Kind == KindText {
		c.Inbox = append(c.Inbox, shown) // until taken from Events: see pump
	}
	hello := show && m.Kind == KindHello && c.Status != StatusConnected
	var answer []byte
	if hello {
		c.Status = StatusConnected
		if c.Send != nil {
			answer, c.Send.Answer = c.Send.Answer, nil // they had it
		}
	}
	if show {
		if err := a.save(); err != nil {
			*c.Recv, c.Status, c.Inbox = *was, status, inbox
			if answer != nil {
				c.Send.Answer = answer
			}
			return nil, err
		}
	}
	var events []Event
	for _, n := range notes {
		events = append(events, Event{Contact: c.Name, Kind: n.Kind, Text: n.Detail, Seq: m.Seq})
	}
	if hello {
		events = append(events, Event{Contact: c.Name, Kind: EventConnected})
	}
	if show && m.Kind == KindText {
		events = append(events, shown)
	}
	return events, nil
}

// pump gives the user the events emitted, after pending (the inbox of
// the last process). A message taken from Events leaves the inbox; the
// next save writes that down: the one for the next message received, or
// pump's own once no event has come for inboxSaveDelay (so a stream of
// messages costs no extra save). So a message the process accepted and
// acknowledged is shown at least once: after a kill -9 between a
// message taken and that save, it is shown again.
func (a *Agent) pump(pending []Event) {
	defer a.wg.Done()
	var flush <-chan time.Time
	for {
		var e Event
		if len(pending) > 0 {
			e, pending = pending[0], pending[1:]
		} else {
			select {
			case e = <-a.events:
			case <-flush:
				flush = nil
				a.mu.Lock()
				if a.takenUnsaved {
					a.save() // if it fails, the next save writes it, or the message is shown again
				}
				a.mu.Unlock()
				continue
			case <-a.stopping:
				return
			}
		}
		select {
		case a.out <- e:
		case <-a.stopping:
			return
		}
		if e.Kind == EventMessage {
			a.mu.Lock()
			a.takenUnsaved = a.st.taken(e) || a.takenUnsaved
			a.mu.Unlock()
			flush = time.After(inboxSaveDelay)
		}
	}
}

// inboxRoom says whether c's inbox can take one more message.
func (a *Agent) inboxRoom(c *Contact) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(c.Inbox) < maxInbox && a.st.inboxBytes()+MaxText <= maxInboxBytes
}
