package mirror

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// ErrIdle means the mirror sent nothing for longer than the client's Idle.
var ErrIdle = errors.New("mirror stalled")

// ErrTooSlow means a download took longer than its deadline (Deadline).
var ErrTooSlow = errors.New("mirror too slow")

// Limits of a download's time: each may take Allowance, plus its size (a
// small file's limit, an artifact's signed size) at MinRate. A mirror that
// trickles a byte just inside Idle is cut off there: the time a hostile
// mirror can hold an update (and the state directory's lock) is bounded by
// the size, not by the mirror's patience.
const (
	DefaultMinRate   = 64 << 10 // bytes per second
	DefaultAllowance = 30 * time.Second
)

// Deadline is how long a download of size bytes may take: the client's
// Allowance plus size at its MinRate (defaults DefaultAllowance,
// DefaultMinRate). A 1 MiB bundle gets 46 s, a 64 MiB artifact about 17
// minutes.
func (c *Client) Deadline(size int64) time.Duration {
	rate, allow := c.MinRate, c.Allowance
	if rate <= 0 {
		rate = DefaultMinRate
	}
	if allow <= 0 {
		allow = DefaultAllowance
	}
	return allow + time.Duration(float64(size)/float64(rate)*float64(time.Second))
}

// idleKey finds a request's idle timer in its context.
type idleKey struct{}

// idleTimer cancels a request's context when no byte arrived for d: a
// slow-loris mirror that accepts, then trickles nothing, is cut off.
type idleTimer struct {
	mu sync.Mutex
	t  *time.Timer
	d  time.Duration
}

func (t *idleTimer) touch() {
	t.mu.Lock()
	t.t.Reset(t.d)
	t.mu.Unlock()
}

// watch returns ctx with an idle timer and the deadline of a download of
// size bytes; done stops both.
func (c *Client) watch(ctx context.Context, size int64) (context.Context, func()) {
	d := c.Idle
	if d <= 0 {
		d = DefaultIdle
	}
	total := c.Deadline(size)
	ctx, stop := context.WithTimeoutCause(ctx, total, fmt.Errorf("%w: %d bytes not received within %v", ErrTooSlow, size, total))
	ctx, cancel := context.WithCancelCause(ctx)
	it := &idleTimer{d: d}
	it.t = time.AfterFunc(d, func() { cancel(fmt.Errorf("%w: no byte for %v", ErrIdle, d)) })
	ctx = context.WithValue(ctx, idleKey{}, it)
	return ctx, func() { it.t.Stop(); cancel(nil); stop() }
}

// watched is a body whose reads reset its context's idle timer.
type watched struct {
	io.ReadCloser
	ctx context.Context
}

func (w *watched) Read(p []byte) (int, error) {
	if err := context.Cause(w.ctx); err != nil {
		return 0, err
	}
	n, err := w.ReadCloser.Read(p)
	if n > 0 {
		if it, ok := w.ctx.Value(idleKey{}).(*idleTimer); ok {
			it.touch()
		}
	}
	return n, err
}

// cause prefers why ctx ended (a stall, the caller's deadline) to the
// error it caused in a read.
func cause(ctx context.Context, err error) error {
	c := context.Cause(ctx)
	if c == nil || errors.Is(err, c) {
		return err
	}
	return fmt.Errorf("%w (%v)", c, err)
}
