package httpserver

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// ErrBusy is returned by Bodies.Read when no slot is free, in all or for
// the request's source address; answer 503 with Retry-After.
var ErrBusy = errors.New("too many request bodies are being read")

// Defaults for Bodies: 64 bodies at once, 4 from one address, each whole
// within 10 s (an entry is at most 64 KiB, so 10 s asks for 6.4 KiB/s).
const (
	DefaultBodies          = 64
	DefaultBodiesPerSource = 4
	DefaultBodyTimeout     = 10 * time.Second
)

// Bodies bounds the request bodies a handler reads at once, in all, per
// source address and in time. A client that sends all but the last byte
// of a body and waits holds its buffer: without a bound in all, thousands
// of them exhaust memory; with only that bound, 64 of them from one
// address would shut out every honest submitter for as long as the read
// timeout. Addresses are counted in memory only, while their bodies are
// being read, and never logged.
type Bodies struct {
	slots     chan struct{}
	perSource int
	timeout   time.Duration

	mu      sync.Mutex
	sources map[string]int
}

// NewBodies makes a limiter; a value ≤ 0 takes its default.
func NewBodies(total, perSource int, timeout time.Duration) *Bodies {
	if total <= 0 {
		total = DefaultBodies
	}
	if perSource <= 0 {
		perSource = DefaultBodiesPerSource
	}
	if timeout <= 0 {
		timeout = DefaultBodyTimeout
	}
	return &Bodies{slots: make(chan struct{}, total), perSource: perSource, timeout: timeout, sources: map[string]int{}}
}

// Read reads r's body, at most limit bytes, holding one of the slots, and
// cuts it off after the body timeout. It returns ErrBusy, before reading
// anything, when no slot is free for r's source.
func (b *Bodies) Read(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	source, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		source = r.RemoteAddr
	}
	if !b.acquire(source) {
		return nil, fmt.Errorf("%w (%d in all, %d from one address)", ErrBusy, cap(b.slots), b.perSource)
	}
	defer b.release(source)
	// The deadline only shortens the server's own read timeout; net/http
	// sets the connection's deadline again for the next request.
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(b.timeout))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	var timeout net.Error
	switch {
	case errors.As(err, &tooLarge):
		return nil, err
	case errors.As(err, &timeout) && timeout.Timeout():
		return nil, fmt.Errorf("request body not received within %v", b.timeout)
	}
	return body, err
}

func (b *Bodies) acquire(source string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sources[source] >= b.perSource {
		return false
	}
	select {
	case b.slots <- struct{}{}:
	default:
		return false
	}
	b.sources[source]++
	return true
}

func (b *Bodies) release(source string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	<-b.slots
	if b.sources[source]--; b.sources[source] == 0 {
		delete(b.sources, source)
	}
}
