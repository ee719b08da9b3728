// Package httpserver is the one way this project builds an HTTP server.
//
// A net/http server without timeouts keeps a connection for as long as the
// client holds it open: fifty half-open connections to a metrics port stay
// forever, and a few thousand exhaust the process's file descriptors. Every
// server that ssms and smp-server start (log, witness, monitor and SMP
// metrics, quickstart's servers) is built by [New], so that each phase of a
// request is bounded and no listener can be forgotten.
//
// Timeouts alone do not bound memory: thousands of connections that each
// hold a request body open until just before the Read timeout keep the
// server's buffers alive all at once (3,000 held POST /add bodies took a
// log from 15 MB to 286 MB). So the number of connections is capped too
// ([Limits.MaxConns], default 1024; [Listener] and [Serve] apply it):
// beyond it a new connection waits in the kernel's accept queue, costing
// the process nothing, until one closes. One source address may hold at
// most [Limits.MaxConnsPerSource] of them (default 64), so that a single
// client cannot take them all. Handlers that read a body also
// bound how many they read at once (translog's and witness's MaxBodies)
// and answer 503 beyond that, before reading.
package httpserver

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// Limits bound each phase of a connection.
type Limits struct {
	ReadHeader     time.Duration // from accepting (or the previous response) to the end of the headers
	Read           time.Duration // the whole request, body included
	Write          time.Duration // from the end of the headers to the end of the response
	Idle           time.Duration // a kept-alive connection between requests
	MaxHeaderBytes int
	MaxConns       int // open connections at once; 0 is no cap
	// MaxConnsPerSource caps the open connections of one source address
	// (an IPv4 address, or an IPv6 /64), so that one client holding idle
	// keep-alive connections cannot take every MaxConns slot and shut
	// everyone else out. Beyond it a new connection is closed at once.
	// 0 is no cap.
	MaxConnsPerSource int
}

// DefaultConnsPerSource is Default.MaxConnsPerSource: far above what a
// browser (6 per host) or a monitor, updater or witness opens at once.
// Behind a reverse proxy every client shares the proxy's address, so the
// proxy must pool its connections under it, or set a larger cap.
const DefaultConnsPerSource = 64

// Default is what every server uses. Write must cover the slowest
// legitimate handler: POST /add on a log waits for its witnesses (5 s by
// default) before it answers.
var Default = Limits{
	ReadHeader:        5 * time.Second,
	Read:              30 * time.Second,
	Write:             60 * time.Second,
	Idle:              2 * time.Minute,
	MaxHeaderBytes:    16 << 10,
	MaxConns:          1024,
	MaxConnsPerSource: DefaultConnsPerSource,
}

// New returns a server for h with the Default limits.
func New(h http.Handler) *http.Server { return Default.New(h) }

// New returns a server for h with the limits l.
func (l Limits) New(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeader,
		ReadTimeout:       l.Read,
		WriteTimeout:      l.Write,
		IdleTimeout:       l.Idle,
		MaxHeaderBytes:    l.MaxHeaderBytes,
	}
}

// ShutdownGrace is how long Serve lets requests in progress finish.
const ShutdownGrace = 10 * time.Second

// Serve is Default.Serve.
func Serve(ctx context.Context, srv *http.Server, ln net.Listener) error {
	return Default.Serve(ctx, srv, ln)
}

// Serve serves srv on ln, capped at l.MaxConns connections, until ctx is
// done, then shuts it down, letting requests in progress finish for up to
// ShutdownGrace. It returns nil after a shutdown, and the error that
// stopped the server otherwise.
func (l Limits) Serve(ctx context.Context, srv *http.Server, ln net.Listener) error {
	ln = l.Listener(ln)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
