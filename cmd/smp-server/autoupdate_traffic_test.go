package main

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"ssms.dev/ssms/signer"
	"ssms.dev/ssms/smp"
	"ssms.dev/ssms/smp/client"
)

// traffic is a client that keeps using a server across its restarts: it
// makes queues, sends to them (again after a failure, so a message may
// arrive twice but must arrive), and in the end receives everything.
type traffic struct {
	t       *testing.T
	ctx     context.Context
	addr    smp.Address
	sess    *client.Session
	mu      sync.Mutex
	qs      []*sendQueue
	retried int           // sends that took more than one try
	longest time.Duration // the longest send: one that waited out a restart
	halt    chan struct{}
	halted  chan struct{}
}

// sendQueue is a queue, secured with the sender's key, and what was sent
// to it (answered OK).
type sendQueue struct {
	q    *client.Queue
	key  signer.Signer
	sent []string
}

func newTraffic(t *testing.T, address string) *traffic {
	addr, err := smp.ParseAddress(address)
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	tr := &traffic{t: t, ctx: ctx, addr: addr, sess: client.NewSession(addr)}
	tr.sess.MinBackoff, tr.sess.MaxBackoff = 20*time.Millisecond, 100*time.Millisecond
	go tr.sess.Run(ctx)
	go func() { // the creating connection's deliveries: received at the end instead
		for range tr.sess.Deliveries() {
		}
	}()
	return tr
}

func newKey(t *testing.T) signer.Signer {
	priv, err := signer.Generate(signer.Ed25519)
	must(t, err)
	s, err := signer.NewKeySigner(priv)
	must(t, err)
	return s
}

// queues makes n queues and secures them.
func (tr *traffic) queues(n int) {
	tr.t.Helper()
	for range n {
		sq := &sendQueue{key: newKey(tr.t)}
		err := tr.sess.Do(tr.ctx, func(c *client.Conn) error {
			q, err := c.CreateQueue(tr.ctx, newKey(tr.t))
			if err == nil {
				sq.q = q
				err = c.Secure(tr.ctx, q, sq.key.Public())
			}
			return err
		})
		must(tr.t, err)
		tr.mu.Lock()
		tr.qs = append(tr.qs, sq)
		tr.mu.Unlock()
	}
}

// send sends body to queue i until the server says OK.
func (tr *traffic) send(i int, body string) error {
	tr.mu.Lock()
	sq := tr.qs[i]
	tr.mu.Unlock()
	began := time.Now()
	deadline := began.Add(20 * time.Second)
	tries := 0
	for {
		err := tr.sess.Do(tr.ctx, func(c *client.Conn) error {
			tries++ // Do tries again on the next connection when this one drops
			return c.Send(tr.ctx, sq.q.SenderID, sq.key, []byte(body))
		})
		if err == nil {
			tr.mu.Lock()
			sq.sent = append(sq.sent, body)
			if tries > 1 {
				tr.retried++
			}
			tr.longest = max(tr.longest, time.Since(began))
			tr.mu.Unlock()
			return nil
		}
		if time.Now().After(deadline) || tr.ctx.Err() != nil {
			return fmt.Errorf("sending %s: %w", body, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// burst sends n messages across the queues.
func (tr *traffic) burst(label string, n int) {
	tr.t.Helper()
	for i := range n {
		tr.mu.Lock()
		q := i % len(tr.qs)
		tr.mu.Unlock()
		must(tr.t, tr.send(q, fmt.Sprintf("%s-%d", label, i)))
	}
}

// keepSending sends a message every 20 ms until stop.
func (tr *traffic) keepSending() {
	tr.halt, tr.halted = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(tr.halted)
		for i := 0; ; i++ {
			select {
			case <-tr.halt:
				return
			case <-time.After(20 * time.Millisecond):
			}
			tr.mu.Lock()
			q := i % len(tr.qs)
			tr.mu.Unlock()
			if err := tr.send(q, fmt.Sprintf("during-%d", i)); err != nil {
				tr.t.Error(err)
				return
			}
		}
	}()
}

func (tr *traffic) stop() {
	close(tr.halt)
	<-tr.halted
}

func (tr *traffic) sent() int {
	n := 0
	for _, sq := range tr.qs {
		n += len(sq.sent)
	}
	return n
}

// receiveAll subscribes to every queue on a new connection and receives
// (and acknowledges) until the queue is empty: every message sent must be
// there.
func (tr *traffic) receiveAll() {
	tr.t.Helper()
	c, err := client.Dial(tr.ctx, tr.addr)
	must(tr.t, err)
	defer c.Close()
	for i, sq := range tr.qs {
		got := map[string]bool{}
		must(tr.t, c.Subscribe(tr.ctx, sq.q))
	receive:
		for {
			select {
			case d := <-c.Deliveries():
				if d.Msg == nil {
					tr.t.Fatalf("queue %d: END", i)
				}
				body, err := sq.q.Open(d.Msg)
				must(tr.t, err)
				got[string(body)] = true
				must(tr.t, c.Ack(tr.ctx, sq.q))
			case <-time.After(500 * time.Millisecond):
				break receive
			}
		}
		var lost []string
		for _, b := range sq.sent {
			if !got[b] {
				lost = append(lost, b)
			}
		}
		if len(lost) > 0 || len(sq.sent) == 0 {
			tr.t.Fatalf("queue %d: %d of %d messages lost: %v", i, len(lost), len(sq.sent), lost)
		}
	}
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}
