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

	mu         sync.Mutex
	conn       *Conn
	up         chan struct{} // closed while conn is usable
	queues     map[string]*Queue
	deliveries chan Delivery
}

// NewSession makes a session; Run connects it.
func NewSession(addr smp.Address) *Session {
	return &Session{Addr: addr, up: make(chan struct{}), queues: map[string]*Queue{}, deliveries: make(chan Delivery, 64)}
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
			err = s.resubscribe(ctx, c)
		}
		if err == nil {
			backoff = s.min()
			s.setConn(c)
			s.notify(nil)
			for d := range c.Deliveries() {
				select {
				case s.deliveries <- d:
				case <-ctx.Done():
				}
			}
			s.setConn(nil)
			err = c.Err()
		}
		if errors.Is(err, smp.ErrFingerprint) {
			return err // not a passing failure: this is not our server
		}
		s.notify(err)
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
	queues := make([]*Queue, 0, len(s.queues))
	for _, q := range s.queues {
		queues = append(queues, q)
	}
	s.mu.Unlock()
	for _, q := range queues {
		if err := c.Subscribe(ctx, q); err != nil {
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

// Conn waits for a live connection.
func (s *Session) Conn(ctx context.Context) (*Conn, error) {
	for {
		s.mu.Lock()
		c, up := s.conn, s.up
		s.mu.Unlock()
		if c != nil && c.Err() == nil {
			return c, nil
		}
		select {
		case <-up:
		case <-ctx.Done():
			return nil, ctx.Err()
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

// Watch subscribes to q now and after every reconnection.
func (s *Session) Watch(ctx context.Context, q *Queue) error {
	s.mu.Lock()
	s.queues[string(q.RecipientID)] = q
	s.mu.Unlock()
	return s.Do(ctx, func(c *Conn) error { return c.Subscribe(ctx, q) })
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
	return s.queues[string(rid)]
}
