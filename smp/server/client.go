package server

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"ssms.dev/ssms/smp"
)

// client is one transport connection: a reader that runs its
// transmissions in order, and a writer fed by an outbox, so that a slow
// recipient never blocks the connections that send to it.
type client struct {
	srv        *Server
	mu         sync.Mutex
	outbox     [][]byte
	wake       chan struct{}
	closed     bool
	subscribed map[id]*queue // guarded by srv.mu
}

// send queues a server transmission, in order.
func (c *client) send(connID []byte, cmd smp.Command) {
	b := smp.AppendTransmission(nil, connID, cmd)
	c.mu.Lock()
	if !c.closed {
		c.outbox = append(c.outbox, b)
	}
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Framer moves transmissions over one transport connection: the text
// transport writes them as they are, TLS in fixed-size padded blocks.
type Framer interface {
	Reader() io.Reader       // the transmission stream from the client
	Write(tx [][]byte) error // transmissions to the client, in order
	SetDeadline(time.Time) error
	Close() error
}

// Serve runs one transport connection until it closes.
func (s *Server) Serve(f Framer) {
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	default:
		f.Close() // too many connections
		return
	}
	c := &client{srv: s, wake: make(chan struct{}, 1), subscribed: map[id]*queue{}}
	done := make(chan struct{})
	go c.writeLoop(f, done)
	r := smp.NewReader(f.Reader())
	for {
		f.SetDeadline(s.cfg.Now().Add(s.cfg.IdleTimeout))
		t, err := r.Read()
		if err != nil {
			break
		}
		s.handle(c, t)
	}
	s.disconnect(c)
	close(done)
	f.Close()
}

func (c *client) writeLoop(f Framer, done chan struct{}) {
	for {
		select {
		case <-c.wake:
		case <-done:
			return
		}
		c.mu.Lock()
		batch := c.outbox
		c.outbox = nil
		c.mu.Unlock()
		if len(batch) == 0 {
			continue
		}
		if err := f.Write(batch); err != nil {
			f.Close()
			return
		}
	}
}

// disconnect unsubscribes a closed connection; a message in flight to it
// is delivered again on the next SUB.
func (s *Server) disconnect(c *client) {
	c.mu.Lock()
	c.closed = true
	c.outbox = nil
	c.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range c.subscribed {
		if q.sub == c {
			q.sub, q.delivered = nil, false
		}
	}
}

// textFramer is the plain-text transport: transmissions as lines.
type textFramer struct{ net.Conn }

func (t textFramer) Reader() io.Reader { return t.Conn }

func (t textFramer) Write(tx [][]byte) error {
	bufs := net.Buffers(tx)
	_, err := bufs.WriteTo(t.Conn)
	return err
}

// ServeText accepts plain-text connections on ln until it is closed.
func (s *Server) ServeText(ln net.Listener) error {
	return accept(ln, func(conn net.Conn) { s.Serve(textFramer{conn}) })
}

// accept runs serve on each connection ln accepts, each in its own
// goroutine, until ln is closed.
func accept(ln net.Listener, serve func(net.Conn)) error {
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		go serve(conn)
	}
}
