package server

import (
	"errors"
	"os"
	"path/filepath"
	"sync"

	"ssms.dev/ssms/internal/atomicfile"
)

// StoreLog makes queues (and, if enabled, undelivered messages) survive
// restarts and crashes. It is an append-only file of events, one a line
// (the grammar is in storeevent.go). Events are written by one goroutine
// in batches (group commit) and fsync'd before the server answers the
// command that caused them. At start the log is replayed, a torn last line
// ignored, and rewritten to hold only the live state.
//
// An append that fails (a full disk: ENOSPC) is cut off again, so the
// next one does not glue onto half a line and make the log unreadable;
// until the cut succeeds, appends fail and commands are ERR INTERNAL.
// While serving, the log is rewritten to the live state once it is more
// than twice what it was after the last rewrite and over compactFloor:
// churn (CONN then DEL, messages sent and acknowledged) no longer grows it
// without bound. A rewrite is atomic: a new file, fsync, rename, fsync of
// the directory.
type StoreLog struct {
	path     string
	messages bool // also persist undelivered messages
	srv      *Server
	floor    int64 // compactFloor; tests make it smaller

	mu      sync.Mutex
	pending []byte
	waiters []chan error
	closed  bool
	wake    chan struct{}
	done    chan struct{}
	stopped chan struct{}

	// Only the writer goroutine touches these once it runs.
	f      logFile
	size   int64 // the file's length after the last append that succeeded
	base   int64 // its length after the last rewrite
	broken bool  // a failed append could not be cut off yet
}

// logFile is the store log's file; tests give one that fails.
type logFile interface {
	Write([]byte) (int, error)
	Sync() error
	Truncate(size int64) error
	Close() error
}

const storeLogFile = "queues.log"

// compactFloor is the size below which the log is not rewritten while
// serving: rewriting a small file costs more than it saves.
const compactFloor = 4 << 20

// wrapLog is how the writer sees the log file; tests make it fail.
var wrapLog = func(f *os.File) logFile { return f }

var errLogClosed = errors.New("store log closed")

// OpenStoreLog replays DIR/queues.log into s, compacts it, and starts
// appending to it.
func OpenStoreLog(dir string, s *Server, messages bool) (*StoreLog, error) {
	l := &StoreLog{path: filepath.Join(dir, storeLogFile), messages: messages, srv: s, floor: compactFloor,
		wake: make(chan struct{}, 1), done: make(chan struct{}), stopped: make(chan struct{})}
	if err := l.replay(s); err != nil {
		return nil, err
	}
	if !messages { // kept in an older log, but not to be kept any more
		for _, q := range s.byRID {
			s.dropped(q, q.msgs...)
			q.msgs = nil
		}
	}
	if err := l.rewrite(l.snapshot(s)); err != nil {
		return nil, err
	}
	go l.writer()
	s.log = l
	return l, nil
}

// rewrite replaces the log with snap, atomically, and appends to the new
// file from then on. The file is opened before the rename, so appends
// never go to a file that has no name any more.
func (l *StoreLog) rewrite(snap []byte) (err error) {
	tmp := filepath.Join(filepath.Dir(l.path), "."+storeLogFile+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil && !errors.As(err, new(errRenamed)) {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(snap); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := os.Rename(tmp, l.path); err != nil {
		return err
	}
	// Renamed: the new file is the log now, whether or not the directory
	// syncs (if not, the rename may not survive a power loss: say so).
	if l.f != nil {
		l.f.Close()
	}
	l.f, l.size, l.base, l.broken = wrapLog(f), int64(len(snap)), int64(len(snap)), false
	if err := atomicfile.SyncDir(filepath.Dir(l.path)); err != nil {
		return errRenamed{err}
	}
	return nil
}

// errRenamed is a rewrite that took effect but may not be durable.
type errRenamed struct{ error }

func (e errRenamed) Unwrap() error { return e.error }

// record queues an event line; the returned function waits until it is
// durable. Called with the server lock held, so events keep their order.
func (l *StoreLog) record(fields ...string) func() error {
	ch := make(chan error, 1)
	l.mu.Lock()
	if l.closed {
		ch <- errLogClosed
	} else {
		l.pending = append(l.pending, marshalEvent(fields)...)
		l.waiters = append(l.waiters, ch)
	}
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return func() error { return <-ch }
}

// take returns what is queued and empties the queue.
func (l *StoreLog) take() ([]byte, []chan error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	buf, waiters := l.pending, l.waiters
	l.pending, l.waiters = nil, nil
	return buf, waiters
}

func (l *StoreLog) writer() {
	defer close(l.stopped)
	for {
		select {
		case <-l.wake:
		case <-l.done:
			l.mu.Lock()
			l.closed = true
			l.mu.Unlock()
			l.flush(l.take()) // what was queued before Close
			return
		}
		if l.size > l.floor && l.size > 2*l.base {
			l.compact()
		}
		l.flush(l.take())
	}
}

// flush appends buf and tells the waiters whether it is durable.
func (l *StoreLog) flush(buf []byte, waiters []chan error) {
	var err error
	if len(buf) > 0 {
		err = l.append(buf)
	}
	for _, w := range waiters {
		w <- err
	}
}

// append writes buf at the end of the log and syncs it. If that fails,
// the file is cut back to its last good length, so that what was partly
// written is not the start of the next append's first line.
func (l *StoreLog) append(buf []byte) error {
	if l.broken {
		if err := l.f.Truncate(l.size); err != nil {
			return err
		}
		l.broken = false
	}
	_, err := l.f.Write(buf)
	if err == nil {
		err = l.f.Sync()
	}
	if err != nil {
		l.broken = l.f.Truncate(l.size) != nil
		return err
	}
	l.size += int64(len(buf))
	return nil
}

// compact rewrites the log to the live state. The events queued when the
// snapshot is taken are in it, so their waiters are answered by the
// rewrite; if it fails, they are appended to the old log as usual.
func (l *StoreLog) compact() {
	l.srv.mu.Lock()
	buf, waiters := l.take()
	snap := l.snapshot(l.srv)
	l.srv.mu.Unlock()
	err := l.rewrite(snap)
	var renamed errRenamed
	if err != nil && !errors.As(err, &renamed) {
		l.flush(buf, waiters)
		l.base = l.size // try again once the log has doubled again
		return
	}
	for _, w := range waiters {
		w <- err
	}
}

// Close stops the writer after what is queued; later events fail.
func (l *StoreLog) Close() error {
	close(l.done)
	<-l.stopped
	return l.f.Close()
}
