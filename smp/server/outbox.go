package server

import "sync"

// outbox holds the transmissions for one connection's writer, which sends
// all that are pending in one write: transmissions ready together share a
// block, and a slow reader never blocks whoever posts to it. With a limit,
// a reader that falls too far behind is cut off instead.
type outbox struct {
	mu      sync.Mutex
	pending [][]byte
	closed  bool
	wake    chan struct{}

	max      int    // bytes held (pending or being written) before overflow; 0: no limit
	held     int    // guarded by mu
	overflow func() // called once, without mu, when held would pass max
}

func newOutbox() *outbox { return &outbox{wake: make(chan struct{}, 1)} }

// limit makes the outbox overflow when more than max bytes wait to be
// written: it closes, and calls overflow once.
func (o *outbox) limit(max int, overflow func()) { o.max, o.overflow = max, overflow }

// post queues tx, in order; after close it is dropped.
func (o *outbox) post(tx []byte) {
	o.mu.Lock()
	over := false
	if !o.closed {
		if o.max > 0 && o.held+len(tx) > o.max {
			o.closed, o.pending, over = true, nil, true
		} else {
			o.pending = append(o.pending, tx)
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
	o.closed, o.pending = true, nil
	o.mu.Unlock()
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
		o.pending = nil
		o.mu.Unlock()
		if len(batch) == 0 {
			continue
		}
		n := 0
		for _, tx := range batch { // before write: net.Buffers.WriteTo sets the written slices to nil
			n += len(tx)
		}
		err := write(batch)
		o.mu.Lock()
		o.held -= n // written, or gone with the connection
		o.mu.Unlock()
		if err != nil {
			return err
		}
	}
}
