package agent

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"ssms.dev/ssms/signer"
	"ssms.dev/ssms/smp"
	"ssms.dev/ssms/smp/client"
)

// Event is what the agent tells its user.
type Event struct {
	Contact string    `json:"contact"`
	Kind    string    `json:"kind"` // "message", "connected", or a Notice kind
	Text    string    `json:"text,omitempty"`
	Seq     uint64    `json:"seq,omitempty"`
	Time    time.Time `json:"time,omitzero"` // when the server received the message
	// Again marks a message from the inbox of an earlier process (see
	// Contact.Inbox): that process may have shown it before it died.
	Again bool `json:"again,omitempty"`
}

// EventMessage and EventConnected are the Event kinds besides notices.
const (
	EventMessage   = "message"
	EventConnected = "connected"
)

// Agent runs a client's conversations over its state.
type Agent struct {
	Algorithm signer.Algorithm // for new signing keys (default Ed25519)
	// Servers are the servers, besides the one a contact's own queue is
	// on, where the user lets an invited contact put the queue we answer
	// on. See replyServerAllowed.
	Servers []smp.Address
	// OnRetry, if set before the first command, hears of each failed
	// attempt to connect to a server and when the next one is.
	OnRetry func(server smp.Address, err error, in time.Duration)

	store  *Store
	mu     sync.Mutex // guards st and sessions
	st     *State
	ctx    context.Context
	cancel context.CancelFunc

	sendMu   sync.Mutex // one message on the wire at a time, so numbers go out in order
	sessions map[string]*client.Session
	events   chan Event    // what emit queues, for pump
	out      chan Event    // what Events gives: unbuffered, so that pump knows what was taken
	stopping chan struct{} // closed by Close: handlers finish the delivery at hand
	handlers sync.WaitGroup
	wg       sync.WaitGroup
	closed   sync.Once
	closeErr error

	// uncleanOnDisk is set once a save has written Clean=false: until
	// then the file still says the last session ended in order, and a
	// crash would let the next session reuse the numbers this one sends.
	uncleanOnDisk bool
	// takenUnsaved: a message left the inbox (see pump) since the last
	// save.
	takenUnsaved bool

	// testStep, for tests, can fail the handshake at a named step: "key"
	// once the server applied KEY (cn the connection); "answer" before
	// our confirmation of the peer's queue goes, "hello" before the
	// joiner's hello goes, "confirm" before the joiner's confirmation
	// goes (cn nil).
	testStep func(step string, cn *client.Conn) error
}

// New runs an agent over an open store and its state. Sending restarts
// past the reserved numbers (and the clock), in a new epoch: see
// SendQueue.next. The receive side is saved
// before each message is acknowledged, with the message in the contact's
// inbox until it is taken from Events: messages in the inbox are given
// again first.
func New(store *Store, st *State) *Agent {
	ctx, cancel := context.WithCancel(context.Background())
	a := &Agent{store: store, st: st, ctx: ctx, cancel: cancel, sessions: map[string]*client.Session{}, events: make(chan Event, 256), out: make(chan Event), stopping: make(chan struct{})}
	// Every start is a new epoch on the sending side, not only one after
	// a crash: a state file rolled back to an older copy (a backup, a
	// snapshot, a local attacker) says clean, and would otherwise reuse
	// numbers the peer has seen and drops. After a clean exit the new
	// epoch's first message chains to the last one sent, so the peer
	// sees no restart. The receive side cannot tell a rolled-back copy:
	// that takes storage that only moves forward, outside this file.
	for _, c := range st.Contacts {
		if c.Send != nil { // also before the first message: a copy from then would count from 1 again
			if st.Clean || c.Send.Seq == 0 {
				c.Send.restart = true
			} else {
				c.Send.Resync = true
			}
		}
	}
	st.Clean = false
	a.wg.Add(1)
	go a.pump(st.inbox())
	return a
}

// Events are messages, status changes and notices, for every contact.
// Messages accepted but not taken from here before the process ended
// (the inbox, see Contact.Inbox) come first.
func (a *Agent) Events() <-chan Event { return a.out }

// State is the state, for reading under no concurrent agent work.
func (a *Agent) State() *State { return a.st }

// Close stops the agent and saves the state, marked clean.
func (a *Agent) Close() error {
	a.closed.Do(func() {
		close(a.stopping)
		a.handlers.Wait() // a delivery being handled is acknowledged first
		a.cancel()
		a.wg.Wait()
		a.mu.Lock()
		defer a.mu.Unlock()
		a.st.Clean = true
		a.closeErr = a.store.Save(a.st)
	})
	return a.closeErr
}

func (a *Agent) save() error {
	if err := a.store.Save(a.st); err != nil {
		return fmt.Errorf("saving the state: %w", err)
	}
	a.uncleanOnDisk, a.takenUnsaved = !a.st.Clean, false
	return nil
}

// session returns the running session for a server, starting it.
func (a *Agent) session(addr smp.Address) *client.Session {
	key := addr.String()
	if s, ok := a.sessions[key]; ok {
		return s
	}
	s := client.NewSession(addr)
	if a.OnRetry != nil {
		s.OnRetry = func(err error, in time.Duration) { a.OnRetry(addr, err, in) }
	}
	a.sessions[key] = s
	a.wg.Add(1)
	a.handlers.Add(1)
	go func() { defer a.wg.Done(); s.Run(a.ctx) }()
	go func() {
		defer a.handlers.Done()
		for {
			select {
			case d := <-s.Deliveries():
				a.handle(s, d)
			case <-a.stopping:
				return
			}
		}
	}()
	return s
}

// Listen subscribes to every contact's receive queue; deliveries then
// come as Events until Close.
func (a *Agent) Listen(ctx context.Context) error {
	a.mu.Lock()
	type watch struct {
		s *client.Session
		q *client.Queue
	}
	var ws []watch
	for _, c := range a.st.Contacts {
		q, addr, err := c.Recv.queue()
		if err != nil {
			a.mu.Unlock()
			return fmt.Errorf("contact %s: %w", c.Name, err)
		}
		ws = append(ws, watch{a.session(addr), q})
	}
	a.mu.Unlock()
	for _, w := range ws {
		if err := w.s.Watch(ctx, w.q); err != nil {
			return err
		}
	}
	a.confirmAgain(ctx)
	return nil
}

func (a *Agent) newSigner() (signer.Signer, []byte, error) {
	alg := a.Algorithm
	if alg == "" {
		alg = signer.Ed25519
	}
	priv, err := signer.Generate(alg)
	if err != nil {
		return nil, nil, err
	}
	der, err := marshalPKCS8(priv)
	if err != nil {
		return nil, nil, err
	}
	s, err := signer.NewKeySigner(priv)
	return s, der, err
}

// createQueue makes a new receive queue on server, with fresh keys.
func (a *Agent) createQueue(ctx context.Context, server smp.Address) (*RecvQueue, *client.Queue, *ecdh.PrivateKey, error) {
	rk, rkDER, err := a.newSigner()
	if err != nil {
		return nil, nil, nil, err
	}
	ek, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	a.mu.Lock()
	s := a.session(server)
	a.mu.Unlock()
	var q *client.Queue
	if err := s.Do(ctx, func(c *client.Conn) (err error) {
		if q, err = c.CreateQueue(ctx, rk); err != nil {
			return err
		}
		return s.Track(c, q)
	}); err != nil {
		return nil, nil, nil, err
	}
	r := &RecvQueue{Server: server.String(), RID: q.RecipientID, SID: q.SenderID, RecipientKey: rkDER, ServerSecret: q.ServerSecret(), EncKey: ek.Bytes()}
	return r, q, ek, nil
}

// Invite creates a queue for a new contact and returns the invitation to
// pass to them out of band.
func (a *Agent) Invite(ctx context.Context, name string, server smp.Address) (*Invitation, error) {
	if err := a.newContactName(name); err != nil {
		return nil, err
	}
	r, q, ek, err := a.createQueue(ctx, server)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.st.Contacts[name] = &Contact{Name: name, Status: StatusInvited, Recv: r}
	err = a.save()
	a.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return &Invitation{EncryptionKey: ek.PublicKey(), SenderID: q.SenderID, Server: server}, nil
}

func (a *Agent) newContactName(name string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.st.Contacts[name]; ok {
		return fmt.Errorf("there is already a contact named %s", name)
	}
	return nil
}

// ErrNotConnected means the contact has not completed the handshake.
var ErrNotConnected = errors.New("not connected yet")

// Send sends a text message to a connected contact. A text too long
// once encoded (JSON escapes some characters in six bytes) is refused
// before it takes a sequence number.
func (a *Agent) Send(ctx context.Context, name, text string) error {
	if len(text) > MaxText {
		return fmt.Errorf("message of %d bytes; the limit is %d", len(text), MaxText)
	}
	a.mu.Lock()
	c, ok := a.st.Contacts[name]
	a.mu.Unlock()
	if !ok {
		return fmt.Errorf("no contact named %s", name)
	}
	if c.Status != StatusConnected {
		return fmt.Errorf("%s: %w (status %s)", name, ErrNotConnected, c.Status)
	}
	return a.sendMessage(ctx, c, &Message{Kind: KindText, Text: text})
}

// sendMessage numbers, encrypts, signs and sends m on c's send queue. A
// failure before the message can leave (a key that does not load, a
// message too long, the state not saved) leaves the sequence number
// unused; once sending starts, the number is spent, since the server may
// have the message even if the answer is lost.
func (a *Agent) sendMessage(ctx context.Context, c *Contact, m *Message) error {
	a.sendMu.Lock()
	defer a.sendMu.Unlock()
	a.mu.Lock()
	sq := c.Send
	a.mu.Unlock()
	dh, err := loadDHPrivate(sq.DH)
	if err != nil {
		return err
	}
	peer, err := loadDHPublic(sq.PeerEK)
	if err != nil {
		return err
	}
	sk, err := loadSigner(sq.SenderKey)
	if err != nil {
		return err
	}
	addr, err := smp.ParseAddress(sq.Server)
	if err != nil {
		return err
	}
	plain, err := a.number(sq, m)
	if err != nil {
		return err
	}
	body, err := sealMessage(plain, sharedKey(dh, peer))
	if err != nil {
		return err
	}
	a.mu.Lock()
	s := a.session(addr)
	a.mu.Unlock()
	if err := s.Do(ctx, func(cn *client.Conn) error { return cn.Send(ctx, sq.SID, sk, body) }); err != nil {
		return err
	}
	a.mu.Lock()
	sq.sent(plain)
	a.mu.Unlock()
	return nil
}

// number gives m the next sequence number on sq and returns its encoding,
// or an error and sq as it was.
func (a *Agent) number(sq *SendQueue, m *Message) ([]byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	was := *sq
	// The first message of a session saves, whatever the block: the
	// file must say "not closed in order" before any number goes out.
	mustSave := sq.next(m) || !a.uncleanOnDisk
	if m.Seq == 0 || m.Seq > maxSeq { // 0: wrapped past 2^64-1
		*sq = was
		return nil, ErrSeqExhausted
	}
	plain, err := marshalMessage(m)
	if err == nil && len(plain) > maxMessage {
		err = fmt.Errorf("message of %d bytes once encoded; the limit is %d", len(plain), maxMessage)
	}
	if err == nil && mustSave {
		err = a.save()
	}
	if err != nil {
		*sq = was
		return nil, err
	}
	return plain, nil
}
