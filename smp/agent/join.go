package agent

import (
	"context"
	"errors"
	"fmt"

	"ssms.dev/ssms/smp"
	"ssms.dev/ssms/smp/client"
)

// Join accepts an invitation: it creates our queue for the answers (on
// replyServer), and sends the confirmation, with the invitation to that
// queue, to the inviter's queue.
func (a *Agent) Join(ctx context.Context, name string, inv *Invitation, replyServer smp.Address) error {
	if err := a.newContactName(name); err != nil {
		return err
	}
	r, q, ek, err := a.createQueue(ctx, replyServer)
	if err != nil {
		return err
	}
	reply := &Invitation{EncryptionKey: ek.PublicKey(), SenderID: q.SenderID, Server: replyServer}
	send, body, err := a.prepareConfirmation(inv, reply.String())
	if err != nil {
		return err
	}
	// The contact exists before the confirmation goes: the answer may
	// come at once. The sealed confirmation is kept with it: if this
	// process dies or the SEND fails, Listen sends it again.
	send.Answer = body
	a.mu.Lock()
	a.st.Contacts[name] = &Contact{Name: name, Status: StatusJoining, Recv: r, Send: send}
	err = a.save()
	a.mu.Unlock()
	if err == nil && a.testStep != nil {
		err = a.testStep("confirm", nil)
	}
	if err != nil {
		return fmt.Errorf("%w (it is sent again at the next listen or chat)", err)
	}
	sent, err := a.sendConfirmation(ctx, inv, body)
	var unreachable *client.UnreachableError
	if !sent && errors.As(err, &unreachable) {
		// Nothing reached the inviter: keep no half contact.
		if uerr := a.undoJoin(ctx, name); uerr != nil {
			return errors.Join(err, uerr)
		}
		return fmt.Errorf("%w; %w", err, ErrJoinUndone)
	}
	if err != nil {
		return fmt.Errorf("%w (it is sent again at the next listen or chat)", err)
	}
	return nil
}

// ErrJoinUndone means a join could not reach the inviter's server and
// was undone: no contact was kept, the invitation can be used again.
var ErrJoinUndone = errors.New("nothing was sent and no contact was kept")

// confirmAgain sends again, unchanged, the confirmation of every contact
// we joined whose inviter has not confirmed our queue yet: the SEND of
// Join may have failed, or the process died before it. A second copy is
// harmless to the inviter: the confirmation that secured its queue is
// recognised (confirmationAgain, or a duplicate once connected). AUTH
// means the inviter secured its queue with our key: it had it.
func (a *Agent) confirmAgain(ctx context.Context) {
	type pending struct {
		name, server string
		sid, body    []byte
	}
	var ps []pending
	a.mu.Lock()
	for _, c := range a.st.Contacts {
		if c.Status == StatusJoining && c.Send != nil && c.Send.Answer != nil && c.Recv.PeerDH == nil {
			ps = append(ps, pending{c.Name, c.Send.Server, c.Send.SID, c.Send.Answer})
		}
	}
	a.mu.Unlock()
	for _, p := range ps {
		addr, err := smp.ParseAddress(p.server)
		if err != nil {
			continue
		}
		a.mu.Lock()
		s := a.session(addr)
		a.mu.Unlock()
		err = s.Do(ctx, func(cn *client.Conn) error { return cn.Send(ctx, p.sid, nil, p.body) })
		var e *smp.Error
		if err != nil && !(errors.As(err, &e) && e.Type == smp.ErrAuth) {
			a.emit(Event{Contact: p.name, Kind: NoticeUndecrypted, Text: "sending the confirmation again failed (it goes again at the next listen): " + err.Error()})
		}
	}
}
