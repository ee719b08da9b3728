package agent

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"

	"ssms.dev/ssms/smp"
	"ssms.dev/ssms/smp/client"
)

// NoticeReplyServer: a confirmation asks us to answer on a server the
// user has not chosen. It is acknowledged without securing the queue
// (KEY): left at the head of the queue it would block the confirmation
// of the real joiner behind it, as anyone who saw the invitation can
// send one. To answer it after all, the user allows that server
// (Agent.Servers) and listens again, and the joiner's client sends the
// confirmation again (see Agent.confirmAgain).
const NoticeReplyServer = "reply-server"

// prepareConfirmation makes fresh sender and end-to-end keys for a queue
// we were invited to: our side of it, and the sealed confirmation.
func (a *Agent) prepareConfirmation(inv *Invitation, reply string) (*SendQueue, []byte, error) {
	sk, skDER, err := a.newSigner()
	if err != nil {
		return nil, nil, err
	}
	dh, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	body, err := SealConfirmation(&Confirmation{SenderKey: sk.Public(), Body: ConfirmationBody{DH: smp.EncodeDHKey(dh.PublicKey()), Reply: reply}}, inv.EncryptionKey)
	if err != nil {
		return nil, nil, err
	}
	return &SendQueue{Server: inv.Server.String(), SID: inv.SenderID, SenderKey: skDER, DH: dh.Bytes(), PeerEK: inv.EncryptionKey.Bytes()}, body, nil
}

// sendConfirmation sends it, unsigned, as the spec requires. sent says
// whether it was written to a connection at all: if not, the inviter
// cannot have it.
func (a *Agent) sendConfirmation(ctx context.Context, inv *Invitation, body []byte) (sent bool, err error) {
	a.mu.Lock()
	s := a.session(inv.Server)
	a.mu.Unlock()
	if err := s.Do(ctx, func(c *client.Conn) error { sent = true; return c.Send(ctx, inv.SenderID, nil, body) }); err != nil {
		return sent, fmt.Errorf("sending the confirmation: %w", err)
	}
	return true, nil
}

// confirmation handles the first message on a queue: the sender's key. The
// queue is secured with it, the sender ID forgotten, and, if the sender
// sent an invitation to its own queue, we confirm that one in turn. It
// says whether to acknowledge the delivery: not when the handshake could
// not go on for a reason that may pass, so that the server delivers it
// again and the contact does not get stuck half-way.
func (a *Agent) confirmation(ctx context.Context, s *client.Session, q *client.Queue, c *Contact, body []byte) bool {
	ek, err := loadDHPrivate(c.Recv.EncKey)
	if err != nil {
		return true
	}
	conf, err := OpenConfirmation(body, ek)
	if err != nil {
		// Anyone who saw the invitation could send this: ignore it (the spec's rule).
		a.emit(Event{Contact: c.Name, Kind: NoticeUndecrypted, Text: "a message that is not a valid confirmation; ignored"})
		return true
	}
	// The reply server is checked before KEY: a confirmation we will
	// not answer must not secure the queue either.
	if c.Send == nil && a.replyRefused(c, conf) {
		return true // removed without KEY: the next confirmation comes through
	}
	if err := a.secure(ctx, s, q, c, conf); err != nil {
		a.emit(Event{Contact: c.Name, Kind: NoticeUndecrypted, Text: "securing the queue failed: " + err.Error()})
		var e *smp.Error
		return errors.As(err, &e) // the server refused: trying again will not help
	}
	return a.afterSecured(ctx, c, conf)
}

// afterSecured takes the handshake on from our queue secured with conf,
// whichever step it stopped at (a crash, a lost answer): the inviter
// confirms the joiner's queue, or sends that confirmation again; the
// joiner says hello. It says whether to acknowledge the confirmation.
func (a *Agent) afterSecured(ctx context.Context, c *Contact, conf *Confirmation) bool {
	a.mu.Lock()
	send, status := c.Send, c.Status
	a.mu.Unlock()
	switch {
	case send == nil && conf.Body.Reply != "":
		// We invited; they joined and sent their queue: confirm it.
		if a.replyRefused(c, conf) {
			return false
		}
		reply, _ := ParseInvitation(conf.Body.Reply) // ParseConfirmation checked it
		return a.answer(ctx, c, reply)
	case status == StatusAccepted && send.Answer != nil:
		return a.answerAgain(ctx, c, send)
	case status == StatusJoining:
		// We joined; this is their confirmation of our queue: both are
		// secured now. Say hello on theirs, so they know.
		return a.hello(ctx, c)
	}
	return true
}

// answer confirms the joiner's queue. The answer is kept until their
// hello: if it is lost, their confirmation comes again (it is not
// acknowledged) and answerAgain sends it again.
func (a *Agent) answer(ctx context.Context, c *Contact, reply *Invitation) bool {
	send, sealed, err := a.prepareConfirmation(reply, "")
	if err == nil {
		send.Answer = sealed
		a.mu.Lock()
		c.Send, c.Status = send, StatusAccepted
		err = a.save()
		if err != nil {
			c.Send, c.Status = nil, StatusInvited
		}
		a.mu.Unlock()
	}
	if err == nil && a.testStep != nil {
		err = a.testStep("answer", nil)
	}
	if err == nil {
		_, err = a.sendConfirmation(ctx, reply, sealed)
	}
	if err != nil {
		a.emit(Event{Contact: c.Name, Kind: NoticeUndecrypted, Text: "answering the confirmation failed: " + err.Error()})
		return false
	}
	return true
}

// answerAgain sends our answer again, unchanged. AUTH means their queue
// is secured: they had it.
func (a *Agent) answerAgain(ctx context.Context, c *Contact, send *SendQueue) bool {
	a.mu.Lock()
	answer, sid, server := send.Answer, send.SID, send.Server
	a.mu.Unlock()
	addr, err := smp.ParseAddress(server)
	if err != nil {
		return true
	}
	a.mu.Lock()
	s := a.session(addr)
	a.mu.Unlock()
	err = s.Do(ctx, func(cn *client.Conn) error { return cn.Send(ctx, sid, nil, answer) })
	var e *smp.Error
	if errors.As(err, &e) && e.Type == smp.ErrAuth {
		err = nil
	}
	if err != nil {
		a.emit(Event{Contact: c.Name, Kind: NoticeUndecrypted, Text: "answering the confirmation again failed: " + err.Error()})
		return false
	}
	a.emit(Event{Contact: c.Name, Kind: NoticeDuplicate, Text: "the confirmation was delivered again; our answer to it went again"})
	return true
}

// hello tells the inviter that both queues are secured, then marks the
// contact connected. Until it went, the contact stays "joining", and
// their confirmation, delivered again, makes confirmationAgain try again.
func (a *Agent) hello(ctx context.Context, c *Contact) bool {
	err := error(nil)
	if a.testStep != nil {
		err = a.testStep("hello", nil)
	}
	if err == nil {
		err = a.sendMessage(ctx, c, &Message{Kind: KindHello})
	}
	if err != nil {
		a.emit(Event{Contact: c.Name, Kind: NoticeUndecrypted, Text: "saying hello failed: " + err.Error()})
		return false
	}
	a.mu.Lock()
	c.Status, c.Send.Answer = StatusConnected, nil
	a.save() // if lost, the hello goes again after a restart: a gap for them, no harm
	a.mu.Unlock()
	a.emit(Event{Contact: c.Name, Kind: EventConnected})
	return true
}

// secure sends KEY with the confirmation's sender key and records the
// peer's end-to-end key. The key is saved as the one being secured before
// KEY goes: the server may apply KEY and the answer be lost, or this
// process die before the next save; the confirmation then comes again,
// KEY gets AUTH (the queue is secured already), and the saved key says
// it was this confirmation's, so the handshake goes on. AUTH after a KEY
// with another key, or with nothing sent before, is a refusal.
func (a *Agent) secure(ctx context.Context, s *client.Session, q *client.Queue, c *Contact, conf *Confirmation) error {
	k, err := smp.NewKey(conf.SenderKey)
	if err != nil {
		return err
	}
	peer, err := parseDHKey(conf.Body.DH)
	if err != nil {
		return err
	}
	key := k.String()
	a.mu.Lock()
	prev := c.Recv.Securing
	same := prev != "" && subtle.ConstantTimeCompare([]byte(prev), []byte(key)) == 1
	c.Recv.Securing = key
	err = a.save()
	a.mu.Unlock()
	if err != nil {
		return err
	}
	lost := false // a KEY went and its answer did not come back
	err = s.Do(ctx, func(cn *client.Conn) error {
		err := cn.Secure(ctx, q, conf.SenderKey)
		if err == nil && a.testStep != nil {
			err = a.testStep("key", cn)
		}
		lost = lost || errors.Is(err, client.ErrClosed)
		return err
	})
	var e *smp.Error
	if errors.As(err, &e) && e.Type == smp.ErrAuth && (same || lost && prev == "") {
		err = nil // our own KEY, applied before
	}
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	c.Recv.PeerDH, c.Recv.SID, c.Recv.Securing = peer.Bytes(), nil, ""
	return a.save()
}

// confirmationAgain handles their confirmation delivered again after our
// queue was secured with it, while the handshake is not done: the step
// after securing may not have happened (see afterSecured). It says
// whether body was that confirmation, and whether to acknowledge it.
func (a *Agent) confirmationAgain(ctx context.Context, c *Contact, body []byte) (again, ack bool) {
	a.mu.Lock()
	done := c.Status == StatusConnected
	encKey, peerDH := c.Recv.EncKey, c.Recv.PeerDH
	a.mu.Unlock()
	if done {
		return false, false
	}
	conf := theirConfirmation(body, encKey, peerDH)
	if conf == nil {
		return false, false
	}
	return true, a.afterSecured(ctx, c, conf)
}

// theirConfirmation is body opened as the confirmation, sealed to our
// key encKey, of the peer whose end-to-end key is peerDH; or nil.
func theirConfirmation(body, encKey, peerDH []byte) *Confirmation {
	ek, err1 := loadDHPrivate(encKey)
	peer, err2 := loadDHPublic(peerDH)
	if err1 != nil || err2 != nil {
		return nil
	}
	conf, err := OpenConfirmation(body, ek)
	if err != nil || conf.Body.DH != smp.EncodeDHKey(peer) {
		return nil
	}
	return conf
}

// replyRefused says whether conf asks for an answer on a server not
// allowed, and tells the user so.
func (a *Agent) replyRefused(c *Contact, conf *Confirmation) bool {
	if conf.Body.Reply == "" {
		return false
	}
	reply, err := ParseInvitation(conf.Body.Reply) // ParseConfirmation checked it
	if err == nil {
		err = a.replyServerAllowed(c, reply.Server)
	}
	if err != nil {
		a.emit(Event{Contact: c.Name, Kind: NoticeReplyServer, Text: err.Error()})
		return true
	}
	return false
}

// replyServerAllowed says whether to answer a confirmation whose reply
// queue is on server: only on the server the user put this contact's
// queue on, or one the user allowed (Agent.Servers). A confirmation comes
// from whoever has the invitation; without this rule it could make the
// client dial any host and port.
func (a *Agent) replyServerAllowed(c *Contact, server smp.Address) error {
	if c.Recv.Server == server.String() {
		return nil
	}
	for _, s := range a.Servers {
		if s == server {
			return nil
		}
	}
	return fmt.Errorf("the reply queue is on %s, a server you have not allowed; not answered, and removed from the queue (to answer it: allow the server, listen, and have them run listen again, which sends their confirmation again)", server)
}
