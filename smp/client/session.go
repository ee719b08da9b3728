package client

import (
	"context"
	"errors"
	"sync"
	"time"

	"ssms.dev/ssms/smp"
)

// Session keeps a connection to one server up: after a drop it dials
// again (with backoff), subscribes again to every queue it watches, and
// forwards all deliveries to one channel.
type Session struct {
	Addr       smp.Address
	MinBackoff time.Duration // default 100ms
	MaxBackoff time.Duration // default 30s
	// OnChange, if set, hears about the connection going up (err nil)
	// or down.
	OnChange func(err error)
	// OnRetry, if set, hears of each failed attempt to connect (err is an
	// *UnreachableError) and when the next one is.
	OnRetry func(err error, in time.Duration)
	// ConnectWait bounds how long Conn (and so Do) waits for a server that
	// is down (default DefaultConnectWait); Run keeps trying meanwhile.
	ConnectWait time.Duration

	mu         sync.Mutex
	conn       *Conn
	up         chan struct{} // closed while conn is usable
	queues     map[string]*watched
	deliveries chan Delivery
	fatal      error         // why Run gave up for good
	lastErr    error         // why the last attempt to connect failed
	stopped    chan struct{} // closed when Run gives up for good
}

// NewSession makes a session; Run connects it.
func NewSession(addr smp.Address) *Session {
	return &Session{Addr: addr, up: make(chan struct{}), queues: map[string]*watched{}, deliveries: make(chan Delivery, 64), stopped: make(chan struct{})}
}

// watched is a queue and the connection it is subscribed on: each queue
// is subscribed once per connection, as a second SUB would deliver again
// a message not yet acknowledged.
type watched struct {
	q  *Queue
	on *Conn
}

// claim marks w subscribed on c, and reports whether it was not already.
func (s *Session) claim(w *watched, c *Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w.on == c {
		return false
	}
	w.on = c
	return true
}

// Deliveries are the messages and ENDs of every watched queue, across
// reconnections.
func (s *Session) Deliveries() <-chan Delivery { return s.deliveries }

// Run keeps the session connected until ctx ends.
func (s *Session) Run(ctx context.Context) error {
	backoff := s.min()
	for {
		c, err := Dial(ctx, s.Addr)
		if err == nil {
			s.setConn(c)
			if err = s.resubscribe(ctx, c); err != nil {
				s.setConn(nil)
			}
		}
		if err == nil {
			backoff = s.min()
			s.notify(nil)
			stop := context.AfterFunc(ctx, func() { c.Close() })
			for d := range c.Deliveries() {
				select {
				case s.deliveries <- d:
				case <-ctx.Done():
				}
			}
			stop()
			s.setConn(nil)
			err = c.Err()
		}
		if errors.Is(err, smp.ErrFingerprint) {
			// Not a passing failure: this is not the server of the address.
			s.mu.Lock()
			s.fatal = err
			s.mu.Unlock()
			close(s.stopped)
			s.notify(err)
			return err
		}
		s.setLastErr(err)
		s.notify(err)
		var unreachable *UnreachableError
		if s.OnRetry != nil && errors.As(err, &unreachable) && ctx.Err() == nil {
			s.OnRetry(err, backoff)
		}
		select {
		case <-ctx.Done():
			if c != nil {
				c.Close()
			}
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, s.max())
	}
}

func (s *Session) resubscribe(ctx context.Context, c *Conn) error {
	s.mu.Lock()
	queues := make([]*watched, 0, len(s.queues))
	for _, w := range s.queues {
		queues = append(queues, w)
	}
	s.mu.Unlock()
	for _, w := range queues {
		if !s.claim(w, c) {
			continue
		}
		if err := c.Subscribe(ctx, w.q); err != nil {
			var e *smp.Error
			if errors.As(err, &e) {
				continue // the queue is gone or not ours: watching it again will not help
			}
			c.Close()
			return err
		}
	}
	return nil
}

func (s *Session) setConn(c *Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c != nil {
		s.conn = c
		close(s.up)
		return
	}
	s.conn = nil
	s.up = make(chan struct{})
}

func (s *Session) notify(err error) {
	if s.OnChange != nil {
		s.OnChange(err)
	}
}

func (s *Session) min() time.Duration {
	if s.MinBackoff > 0 {
		return s.MinBackoff
	}
	return 100 * time.Millisecond
}

func (s *Session) max() time.Duration {
	if s.MaxBackoff > 0 {
		return s.MaxBackoff
	}
	return 30 * time.Second
}

func (s *Session) setLastErr(err error) {
	s.mu.Lock()
	s.lastErr = err
	s.mu.Unlock()
}

// Conn waits for a live connection, at most ConnectWait: then it fails
// with an *UnreachableError saying why the last attempt failed.
func (s *Session) Conn(ctx context.Context) (*Conn, error) {
	wait := s.ConnectWait
	if wait <= 0 {
		wait = DefaultConnectWait
	}
	giveUp := time.NewTimer(wait)
	defer giveUp.Stop()
	for {
		s.mu.Lock()
		c, up := s.conn, s.up
		s.mu.Unlock()
		if c != nil && c.Err() == nil {
			return c, nil
		}
		select {
		case <-up:
		case <-s.stopped:
			return nil, s.fatal
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-giveUp.C:
			s.mu.Lock()
			err := s.lastErr
			s.mu.Unlock()
			var unreachable *UnreachableError
			if errors.As(err, &unreachable) {
				return nil, unreachable
			}
			return nil, &UnreachableError{Addr: s.Addr, Err: err}
		case <-time.After(50 * time.Millisecond): // the connection died and Run has not noticed yet
		}
	}
}

// Do runs f on a live connection, and again on the next one if the
// connection dropped under it (not if the server answered an error).
func (s *Session) Do(ctx context.Context, f func(*Conn) error) error {
	for {
		c, err := s.Conn(ctx)
		if err != nil {
			return err
		}
		err = f(c)
		if !errors.Is(err, ErrClosed) {
			return err
		}
	}
}

// Watch subscribes to q now, if connected, and after every reconnection.
func (s *Session) Watch(ctx context.Context, q *Queue) error {
	s.mu.Lock()
	w, ok := s.queues[string(q.RecipientID)]
	if !ok {
		w = &watched{q: q}
		s.queues[string(q.RecipientID)] = w
	}
	c := s.conn
	s.mu.Unlock()
	if c == nil || !s.claim(w, c) {
		return nil // Run subscribes it when it connects
	}
	err := c.Subscribe(ctx, q)
	if errors.Is(err, ErrClosed) {
		return nil // the next connection subscribes it
	}
	return err
}

// Track adds a queue that connection c already subscribes to (CONN
// subscribes the connection that creates the queue).
func (s *Session) Track(c *Conn, q *Queue) error {
	s.mu.Lock()
	s.queues[string(q.RecipientID)] = &watched{q: q, on: c}
	current := s.conn == c
	s.mu.Unlock()
	if current {
		return nil
	}
	return s.Watch(context.Background(), q) // Run moved to another connection meanwhile
}

// Unwatch stops resubscribing to q.
func (s *Session) Unwatch(q *Queue) {
	s.mu.Lock()
	delete(s.queues, string(q.RecipientID))
	s.mu.Unlock()
}

// Queue returns the watched queue with this recipient ID.
func (s *Session) Queue(rid []byte) *Queue {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w, ok := s.queues[string(rid)]; ok {
		return w.q
	}
	return nil
}
