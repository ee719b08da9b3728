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

// watch returns ctx with an idle timer; done stops it.
func (c *Client) watch(ctx context.Context) (context.Context, func()) {
	d := c.Idle
	if d <= 0 {
		d = DefaultIdle
	}
	ctx, cancel := context.WithCancelCause(ctx)
	it := &idleTimer{d: d}
	it.t = time.AfterFunc(d, func() { cancel(fmt.Errorf("%w: no byte for %v", ErrIdle, d)) })
	ctx = context.WithValue(ctx, idleKey{}, it)
	return ctx, func() { it.t.Stop(); cancel(nil) }
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
