package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"ssms.dev/ssms/smp/client"
)

// cleanupWait bounds the deletion of a queue on its server when a contact
// is forgotten or a join undone: the state is what matters, the server
// drops what it is not told about in its own time.
const cleanupWait = 5 * time.Second

// Forget removes the contact name from the state, after deleting its
// receive queue on the server (DEL with our recipient key), so that the
// server keeps nothing for it. The contact is forgotten even if the
// server cannot be reached; the error then says the queue may remain.
func (a *Agent) Forget(ctx context.Context, name string) (serverErr error, err error) {
	a.mu.Lock()
	c, ok := a.st.Contacts[name]
	a.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("no contact named %s", name)
	}
	serverErr = a.deleteQueue(ctx, c.Recv)
	a.mu.Lock()
	delete(a.st.Contacts, name)
	err = a.save()
	a.mu.Unlock()
	return serverErr, err
}

// deleteQueue deletes the receive queue r on its server, waiting at most
// cleanupWait. A queue the server no longer knows is deleted already.
func (a *Agent) deleteQueue(ctx context.Context, r *RecvQueue) error {
	q, addr, err := r.queue()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, cleanupWait)
	defer cancel()
	a.mu.Lock()
	s := a.session(addr)
	a.mu.Unlock()
	s.Unwatch(q)
	err = s.Do(ctx, func(c *client.Conn) error { return c.Delete(ctx, q) })
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("%s did not answer within %v", addr.Host, cleanupWait)
	}
	return err
}

// undoJoin removes the contact a Join added when its confirmation never
// left (the inviter's server could not be reached): nothing of it exists
// anywhere but in our state and our reply queue, so joining again later
// starts clean. The reply queue is deleted if its server answers.
func (a *Agent) undoJoin(ctx context.Context, name string) error {
	a.mu.Lock()
	c := a.st.Contacts[name]
	delete(a.st.Contacts, name)
	err := a.save()
	a.mu.Unlock()
	if err == nil && c != nil {
		a.deleteQueue(ctx, c.Recv) // best effort: an unused queue harms no one
	}
	return err
}
