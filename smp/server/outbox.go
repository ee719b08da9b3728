package server

import "sync"

// outbox holds the transmissions for one connection's writer, which sends
// all that are pending in one write: transmissions ready together share a
// block, and a slow reader never blocks whoever posts to it.
type outbox struct {
	mu      sync.Mutex
	pending [][]byte
	closed  bool
	wake    chan struct{}
}

func newOutbox() *outbox { return &outbox{wake: make(chan struct{}, 1)} }

// post queues tx, in order; after close it is dropped.
func (o *outbox) post(tx []byte) {
	o.mu.Lock()
	if !o.closed {
		o.pending = append(o.pending, tx)
	}
	o.mu.Unlock()
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
		if err := write(batch); err != nil {
			return err
		}
	}
}
