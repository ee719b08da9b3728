package server

import (
	"sync"
	"sync/atomic"
	"time"
)

// outbox holds the transmissions for one connection's writer, which sends
// all that are pending in one write: transmissions ready together share a
// block, and a slow reader never blocks whoever posts to it. With a limit,
// a reader that falls too far behind is cut off instead.
//
// Pending transmissions are appended to one buffer, not kept one slice
// each: a slice per 14-byte answer cost three times its bytes in headers
// and allocation rounding (13 MB held for a 4 MiB limit), more than the
// limit said. Now what an outbox holds is at most twice what it counts
// (the append slack), plus one batch being written.
type outbox struct {
	mu      sync.Mutex
	pending []byte
	spare   []byte // a written batch's buffer, for the next one
	closed  bool
	wake    chan struct{}

	max      int           // bytes held (pending or being written) before overflow; 0: no limit
	total    *budget       // the bytes all outboxes hold, if limited
	held     int           // guarded by mu
	drained  chan struct{} // closed when held is 0 or the outbox closes; guarded by mu
	overflow func()        // called once, without mu, when held would pass max
}

// budget is what all connections' outboxes hold, against one limit.
type budget struct {
	held atomic.Int64
	max  int64
}

// take counts n more bytes, unless they pass the limit.
func (b *budget) take(n int) bool {
	if b == nil {
		return true
	}
	if b.held.Add(int64(n)) > b.max {
		b.held.Add(-int64(n))
		return false
	}
	return true
}

func (b *budget) give(n int) {
	if b != nil {
		b.held.Add(-int64(n))
	}
}

// maxSpare bounds the buffer an outbox keeps between writes.
const maxSpare = 64 << 10

func newOutbox() *outbox { return &outbox{wake: make(chan struct{}, 1)} }

// limit makes the outbox overflow when more than max bytes wait to be
// written, or when total would pass its limit: it closes, and calls
// overflow once.
func (o *outbox) limit(max int, total *budget, overflow func()) {
	o.max, o.total, o.overflow = max, total, overflow
}

// post queues tx, in order; after close it is dropped.
func (o *outbox) post(tx []byte) {
	o.mu.Lock()
	over := false
	if !o.closed {
		if (o.max > 0 && o.held+len(tx) > o.max) || !o.total.take(len(tx)) {
			o.dropLocked()
			over = true
		} else {
			o.pending = append(o.pending, tx...)
			o.held += len(tx)
		}
	}
	o.mu.Unlock()
	if over {
		o.overflow()
		return
	}
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// close drops what is pending and refuses more.
func (o *outbox) close() {
	o.mu.Lock()
	o.dropLocked()
	o.mu.Unlock()
}

// flush waits, at most d, until what was posted is written or the
// outbox closes.
func (o *outbox) flush(d time.Duration) {
	o.mu.Lock()
	if o.held == 0 || o.closed {
		o.mu.Unlock()
		return
	}
	if o.drained == nil {
		o.drained = make(chan struct{})
	}
	ch := o.drained
	o.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	}
}

// wakeFlushLocked ends a flush once there is nothing left to wait for.
// o.mu is held.
func (o *outbox) wakeFlushLocked() {
	if o.drained != nil && (o.held == 0 || o.closed) {
		close(o.drained)
		o.drained = nil
	}
}

// dropLocked closes the outbox and uncounts what is pending; a batch
// being written is uncounted by run. o.mu is held.
func (o *outbox) dropLocked() {
	o.held -= len(o.pending)
	o.total.give(len(o.pending))
	o.closed, o.pending, o.spare = true, nil, nil
	o.wakeFlushLocked()
}

// run writes what is posted until done is closed or a write fails.
func (o *outbox) run(write func([][]byte) error, done <-chan struct{}) error {
	for {
		select {
		case <-o.wake:
		case <-done:
			return nil
		}
		o.mu.Lock()
		batch := o.pending
		o.pending, o.spare = o.spare, nil
		o.mu.Unlock()
		if len(batch) == 0 {
			continue
		}
		err := write([][]byte{batch})
		o.mu.Lock()
		o.held -= len(batch) // written, or gone with the connection
		o.total.give(len(batch))
		if !o.closed && cap(batch) <= maxSpare {
			o.spare = batch[:0]
		}
		if err != nil {
			o.dropLocked()
		}
		o.wakeFlushLocked()
		o.mu.Unlock()
		if err != nil {
			return err
		}
	}
}
