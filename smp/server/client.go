package server

import (
	"io"
	"net"
	"net/netip"
	"time"

	"ssms.dev/ssms/smp"
)

// client is one transport connection: a reader that runs its
// transmissions in order, and a writer fed by an outbox, so that a slow
// recipient never blocks the connections that send to it.
type client struct {
	srv        *Server
	out        *outbox
	subscribed map[id]*queue // guarded by srv.mu
	created    *owned        // live queues this connection created
}

func newClient(s *Server) *client {
	return &client{srv: s, out: newOutbox(), subscribed: map[id]*queue{}, created: &owned{}}
}

// send queues a server transmission, in order.
func (c *client) send(connID []byte, cmd smp.Command) {
	c.out.post(smp.AppendTransmission(nil, connID, cmd))
}

// Framer moves transmissions over one transport connection: the text
// transport writes them as they are, TLS in fixed-size padded blocks.
type Framer interface {
	Reader() io.Reader       // the transmission stream from the client
	Write(tx [][]byte) error // transmissions to the client, in order
	SetDeadline(time.Time) error
	Close() error
}

// Serve runs one transport connection until it closes. It counts against
// MaxClients; ServeText and ServeTLS also count connections by source.
func (s *Server) Serve(f Framer) {
	if !s.gate.admit(netip.Addr{}) {
		f.Close() // too many connections
		return
	}
	defer s.gate.leave(netip.Addr{})
	s.serve(f, nil)
}

// serve runs a connection the gate admitted; in, if not nil, is its
// transport connection, which starts the transmission deadline.
func (s *Server) serve(f Framer, in *arrival) {
	c := newClient(s)
	// A client that sends faster than it reads (repeated SUBs each answered
	// OK and the message in flight, say) is closed once what waits for it
	// passes the limit, rather than growing the outbox without bound; so is
	// the one whose answer would take all outboxes past OutboxTotal.
	// Close runs apart: post may hold the server lock, and closing TLS can
	// wait on the peer.
	c.out.limit(s.cfg.OutboxBytes, &s.outboxes, func() { go f.Close() })
	done := make(chan struct{})
	go func() {
		if c.out.run(f.Write, done) != nil {
			f.Close()
		}
	}()
	r := smp.NewReader(f.Reader())
	for {
		s.wait(f, in, r.Buffered() > 0)
		t, err := r.Read()
		if err != nil {
			break
		}
		s.handle(c, t)
	}
	// The last answers may be what the client needs most (ERR SIZE for a
	// body too large to skip, answers to a client that half-closed):
	// give them a moment before the connection goes.
	c.out.flush(time.Second)
	s.disconnect(c)
	close(done)
	f.Close()
}

// disconnect unsubscribes a closed connection; a message in flight to it
// is delivered again on the next SUB.
func (s *Server) disconnect(c *client) {
	c.out.close()
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
	return s.accept(ln, func(conn net.Conn) {
		in := s.arrival(conn)
		s.serve(textFramer{in}, in)
	})
}
