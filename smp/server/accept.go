package server

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
)

// gate admits transport connections: at most max at once, and at most
// perSource from one source address. A connection holds its place from
// accept to close, TLS handshake included, so a burst of connections that
// never finish their handshake cannot take every file descriptor.
//
// The counts by address live only in this map, only while a connection is
// open: the server never logs or persists an address.
type gate struct {
	mu        sync.Mutex
	open      int
	bySource  map[netip.Addr]int
	max       int
	perSource int
}

func newGate(max, perSource int) *gate {
	return &gate{bySource: map[netip.Addr]int{}, max: max, perSource: perSource}
}

// admit takes a place for a connection from src (the zero Addr: a
// connection with no IP address, counted only against max).
func (g *gate) admit(src netip.Addr) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.open >= g.max || (src.IsValid() && g.bySource[src] >= g.perSource) {
		return false
	}
	g.open++
	if src.IsValid() {
		g.bySource[src]++
	}
	return true
}

// leave gives back the place admit took.
func (g *gate) leave(src netip.Addr) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open--
	if src.IsValid() {
		if g.bySource[src]--; g.bySource[src] == 0 {
			delete(g.bySource, src)
		}
	}
}

func (g *gate) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.open
}

// source is the IP address a connection comes from, IPv4 in IPv6 unmapped
// so that one host is one source.
func source(c net.Conn) netip.Addr {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// accept runs serve on each connection ln accepts that the gate admits,
// each in its own goroutine, until ln is closed. An error that passes
// (out of file descriptors, a connection aborted before it was accepted)
// is retried after a pause that doubles from 5 ms to 1 s, as net/http
// does; returning would leave a live process that accepts nothing.
func (s *Server) accept(ln net.Listener, serve func(net.Conn)) error {
	var pause time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			if !temporary(err) {
				return err
			}
			pause = min(max(2*pause, 5*time.Millisecond), time.Second)
			time.Sleep(pause)
			continue
		}
		pause = 0
		src := source(conn)
		if !s.gate.admit(src) {
			conn.Close() // too many connections, or too many from src
			continue
		}
		go func() {
			defer s.gate.leave(src)
			serve(conn)
		}()
	}
}

// temporary says whether an accept error may pass.
func temporary(err error) bool {
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
		syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EINTR} {
		if errors.Is(err, e) {
			return true
		}
	}
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}
