// Package client speaks SMP to a server, as a recipient and as a sender:
// one TLS connection per server, pinned to the server's CA fingerprint,
// commands pipelined with responses in order, deliveries on a channel.
// Session adds reconnection with resubscription.
package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"

	"ssms.dev/ssms/signer"
	"ssms.dev/ssms/smp"
)

// maxPipelined bounds the commands in flight on one connection.
const maxPipelined = 1024

// Delivery is what a server pushes for a subscribed queue: a message, or
// END when another connection took the subscription over.
type Delivery struct {
	RecipientID []byte
	Msg         *smp.Msg // nil for END
}

// Conn is one connection to an SMP server.
type Conn struct {
	Addr       smp.Address
	tc         net.Conn
	bc         *smp.BlockConn
	wmu        sync.Mutex    // orders a write with its place in pending
	pending    chan chan any // response channels, in command order
	deliveries chan Delivery
	done       chan struct{}
	errOnce    sync.Once
	err        error
}

// ErrClosed means the connection is gone; Err says why.
var ErrClosed = errors.New("smp: connection closed")

// Dial opens a TLS 1.3 connection to the server at addr and refuses it
// unless the server's CA certificate has the address's fingerprint. An
// attempt takes at most DialTimeout; a failure other than the server's
// identity is an *UnreachableError.
func Dial(ctx context.Context, addr smp.Address) (*Conn, error) {
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: DialTimeout}, Config: smp.ClientTLS(addr.Fingerprint)}
	attempt, cancel := context.WithTimeout(ctx, DialTimeout) // the TLS handshake too
	defer cancel()
	tc, err := d.DialContext(attempt, "tcp", net.JoinHostPort(addr.Host, strconv.Itoa(addr.Port)))
	if ctx.Err() != nil {
		return nil, ctx.Err() // the caller gave up: not the server's doing
	}
	if err != nil {
		return nil, dialError(addr, err)
	}
	c := &Conn{Addr: addr, tc: tc, bc: smp.NewBlockConn(tc), pending: make(chan chan any, maxPipelined),
		deliveries: make(chan Delivery, 64), done: make(chan struct{})}
	go c.readLoop()
	return c, nil
}

// Deliveries are the messages and ENDs the server pushes. The channel is
// closed when the connection ends.
func (c *Conn) Deliveries() <-chan Delivery { return c.deliveries }

// Done is closed when the connection ends; Err then says why.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err is why the connection ended (nil while it is up).
func (c *Conn) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// Close ends the connection.
func (c *Conn) Close() error {
	c.fail(ErrClosed)
	return nil
}

func (c *Conn) fail(err error) {
	c.errOnce.Do(func() {
		c.err = err
		c.tc.Close()
		close(c.done)
	})
}

func (c *Conn) readLoop() {
	defer close(c.deliveries)
	r := smp.NewReader(c.bc)
	for {
		st, err := r.ReadServer()
		if err != nil {
			c.fail(fmt.Errorf("%w: %v", ErrClosed, err))
			c.drainPending()
			return
		}
		switch cmd := st.Command.(type) {
		case smp.Msg:
			c.deliveries <- Delivery{RecipientID: st.ConnID, Msg: &cmd}
		case smp.End:
			c.deliveries <- Delivery{RecipientID: st.ConnID}
		default:
			select {
			case ch := <-c.pending:
				ch <- cmd
			default:
				c.fail(fmt.Errorf("%w: the server answered a command that was not sent", smp.ErrServerMessage))
				return
			}
		}
	}
}

// drainPending fails the commands still waiting for an answer.
func (c *Conn) drainPending() {
	for {
		select {
		case ch := <-c.pending:
			ch <- c.err
		default:
			return
		}
	}
}

// Do sends one command on connID, signed with key (nil: unsigned), and
// returns the server's answer; an ERR answer is an *smp.Error.
func (c *Conn) Do(ctx context.Context, connID []byte, cmd smp.Command, key signer.Signer) (smp.Command, error) {
	var signErr error
	sign := func(signed []byte) []byte {
		sig, err := key.Sign(ctx, signed)
		signErr = err
		return sig
	}
	if key == nil {
		sign = nil
	}
	tx := smp.AppendClientTransmission(nil, connID, cmd, sign)
	if signErr != nil {
		return nil, signErr
	}
	ch := make(chan any, 1)
	c.wmu.Lock()
	select {
	case <-c.done:
		c.wmu.Unlock()
		return nil, c.err
	case c.pending <- ch:
	}
	err := c.bc.WriteBlocks([][]byte{tx})
	c.wmu.Unlock()
	if err != nil {
		c.fail(fmt.Errorf("%w: %v", ErrClosed, err))
	}
	select {
	case r := <-ch:
		return result(r)
	case <-c.done:
		select { // the answer may have come just before the end
		case r := <-ch:
			return result(r)
		default:
			return nil, c.err
		}
	case <-ctx.Done():
		return nil, ctx.Err() // the answer, when it comes, goes to ch and is dropped
	}
}

// result turns what readLoop handed over into Do's results.
func result(r any) (smp.Command, error) {
	switch r := r.(type) {
	case error:
		return nil, r
	case smp.Err:
		return nil, &smp.Error{Type: r.Type}
	}
	return r.(smp.Command), nil
}

func expectOK(r smp.Command, err error) error {
	if err != nil {
		return err
	}
	if _, ok := r.(smp.OK); !ok {
		return fmt.Errorf("%w: answered %T, want OK", smp.ErrServerMessage, r)
	}
	return nil
}
