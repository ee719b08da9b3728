package httpserver

import (
	"net"
	"sync"
)

// Listener is Default.Listener: for a caller that runs srv.Serve itself.
func Listener(ln net.Listener) net.Listener { return Default.Listener(ln) }

// Listener returns ln capped at l.MaxConns open connections, and at
// l.MaxConnsPerSource from one source address. Past MaxConns, Accept
// waits for one to close, so connections beyond the cap stay in the
// kernel's accept queue and hold no memory of the process; past
// MaxConnsPerSource, the new connection is closed at once, so that one
// source waiting cannot hold up the others.
func (l Limits) Listener(ln net.Listener) net.Listener {
	if l.MaxConns <= 0 && l.MaxConnsPerSource <= 0 {
		return ln
	}
	ll := &limitListener{Listener: ln, done: make(chan struct{}), perSource: l.MaxConnsPerSource, open: map[string]int{}}
	if l.MaxConns > 0 {
		ll.slots = make(chan struct{}, l.MaxConns)
	}
	return ll
}

type limitListener struct {
	net.Listener
	slots     chan struct{} // nil: no total cap
	done      chan struct{}
	closeOnce sync.Once
	perSource int
	mu        sync.Mutex
	open      map[string]int // open connections per source
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		if l.slots != nil {
			select {
			case l.slots <- struct{}{}:
			case <-l.done:
				// Closed while waiting for a slot: let the inner Accept report it.
				return l.Listener.Accept()
			}
		}
		c, err := l.Listener.Accept()
		if err != nil {
			l.releaseSlot()
			return nil, err
		}
		source := sourceOf(c.RemoteAddr())
		if !l.take(source) {
			c.Close()
			l.releaseSlot()
			continue
		}
		return &limitConn{Conn: c, release: func() { l.releaseSlot(); l.give(source) }}, nil
	}
}

func (l *limitListener) releaseSlot() {
	if l.slots != nil {
		<-l.slots
	}
}

// take counts a connection from source, if it is under its cap.
func (l *limitListener) take(source string) bool {
	if l.perSource <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[source] >= l.perSource {
		return false
	}
	l.open[source]++
	return true
}

func (l *limitListener) give(source string) {
	if l.perSource <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[source]--; l.open[source] <= 0 {
		delete(l.open, source) // the map holds only sources with connections open
	}
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// sourceOf is what MaxConnsPerSource counts against: the IP address, or
// the /64 of an IPv6 one (one machine is handed a whole /64).
func sourceOf(a net.Addr) string {
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.To4() != nil {
		return host
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// limitConn gives its slot back once, however often it is closed.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
