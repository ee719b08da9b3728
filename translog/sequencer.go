package translog

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Sequencer batches concurrent additions: it takes whatever is queued when
// the previous batch is done, writes it with one Append (one round of
// fsyncs, one checkpoint) and answers every waiter. Under low load a batch
// is one entry and an addition is integrated at once; under high load
// batches grow and the fsync cost is shared.
type Sequencer struct {
	store    *Store
	queue    chan *addition
	maxBatch int
	done     chan struct{}
	stop     sync.Once

	cosigner      Cosigner
	cosignTimeout time.Duration
	recosignEvery time.Duration
	onCosignError func(error)
	stopped       chan struct{}
}

// WitnessOptions configure cosigning of every checkpoint by witnesses.
type WitnessOptions struct {
	Cosigner Cosigner
	// Timeout bounds each round of cosigning; the checkpoint is published
	// with whatever cosignatures arrived by then.
	Timeout time.Duration
	// Recosign re-cosigns an unchanged checkpoint this often, so an idle
	// log still has fresh cosignatures (clients judge freshness by them).
	Recosign time.Duration
	// OnError is told of failed rounds; may be nil.
	OnError func(error)
}

// ErrOverloaded means the queue is full; retry later.
var ErrOverloaded = errors.New("log is overloaded")

// ErrClosed means the sequencer has stopped.
var ErrClosed = errors.New("log is shutting down")

type addition struct {
	entry []byte
	index int64
	cp    *SignedCheckpoint
	err   error
	done  chan struct{}
}

// Limits of the sequencer.
const (
	DefaultMaxPending = 1 << 16
	DefaultMaxBatch   = 4096
)

// NewSequencer starts sequencing additions to store. Stop it with Close.
func NewSequencer(store *Store, maxPending, maxBatch int) *Sequencer {
	return NewWitnessedSequencer(store, maxPending, maxBatch, WitnessOptions{})
}

// NewWitnessedSequencer is NewSequencer with every checkpoint cosigned by
// witnesses before additions are answered.
func NewWitnessedSequencer(store *Store, maxPending, maxBatch int, w WitnessOptions) *Sequencer {
	q := &Sequencer{store: store, queue: make(chan *addition, maxPending), maxBatch: maxBatch, done: make(chan struct{}), stopped: make(chan struct{}),
		cosigner: w.Cosigner, cosignTimeout: w.Timeout, recosignEvery: w.Recosign, onCosignError: w.OnError}
	if q.cosignTimeout <= 0 {
		q.cosignTimeout = 5 * time.Second
	}
	if q.recosignEvery <= 0 {
		q.recosignEvery = time.Hour
	}
	go q.run()
	return q
}

// Add appends entry unless the log holds it already, and returns its index
// and a checkpoint that includes it. An entry already present returns at
// once with its existing index.
func (q *Sequencer) Add(ctx context.Context, entry []byte) (int64, *SignedCheckpoint, error) {
	if len(entry) > MaxEntrySize {
		return 0, nil, ErrTooLarge
	}
	i, ok, err := q.store.Lookup(entry)
	if err != nil {
		return 0, nil, err
	}
	// Found and covered by the published checkpoint: answer at once. Found
	// but not yet published: queue, and the next batch answers with it.
	if cp := q.store.Checkpoint(); ok && i < cp.Size {
		return i, cp, nil
	}
	a := &addition{entry: entry, done: make(chan struct{})}
	select {
	case q.queue <- a:
	case <-q.done:
		return 0, nil, ErrClosed
	default:
		return 0, nil, ErrOverloaded
	}
	select {
	case <-a.done:
		return a.index, a.cp, a.err
	case <-ctx.Done():
		// The entry may still be logged; a retry finds it by its bytes.
		return 0, nil, ctx.Err()
	}
}

// Close stops the sequencer after the batch in progress; queued additions
// fail with ErrClosed. It returns once the sequencer has stopped.
func (q *Sequencer) Close() {
	q.stop.Do(func() { close(q.done) })
	<-q.stopped
}

func (q *Sequencer) run() {
	defer close(q.stopped)
	q.cosign() // the checkpoint left by Open may carry no cosignatures
	recosign := time.NewTicker(q.recosignEvery)
	defer recosign.Stop()
	for {
		var first *addition
		select {
		case first = <-q.queue:
		case <-recosign.C:
			q.cosign()
			continue
		case <-q.done:
			q.failQueued()
			return
		}
		batch := []*addition{first}
	drain:
		for len(batch) < q.maxBatch {
			select {
			case a := <-q.queue:
				batch = append(batch, a)
			default:
				break drain
			}
		}
		q.integrate(batch)
	}
}

// integrate appends the new entries of batch, mapping repeats (within the
// batch or already logged) to one index.
func (q *Sequencer) integrate(batch []*addition) {
	seen := map[string]int{}
	var fresh [][]byte
	slot := make([]int, len(batch)) // position in fresh, or -1 if already logged
	for i, a := range batch {
		if idx, ok, err := q.store.Lookup(a.entry); err == nil && ok {
			a.index, slot[i] = idx, -1
			continue
		}
		if j, ok := seen[string(a.entry)]; ok {
			slot[i] = j
			continue
		}
		seen[string(a.entry)] = len(fresh)
		slot[i] = len(fresh)
		fresh = append(fresh, a.entry)
	}
	var first int64
	var err error
	if len(fresh) > 0 {
		if first, err = q.store.Append(fresh); err == nil {
			q.cosign()
		}
	}
	cp := q.store.Checkpoint()
	for i, a := range batch {
		if slot[i] >= 0 {
			a.index = first + int64(slot[i])
		}
		a.cp, a.err = cp, err
		close(a.done)
	}
}

func (q *Sequencer) failQueued() {
	for {
		select {
		case a := <-q.queue:
			a.err = ErrClosed
			close(a.done)
		default:
			return
		}
	}
}
