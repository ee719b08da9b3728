package server

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"ssms.dev/ssms/internal/atomicfile"
	"ssms.dev/ssms/smp"
)

// StoreLog makes queues (and, if enabled, undelivered messages) survive
// restarts and crashes. It is an append-only file of events, one a line
// (the grammar is in storeevent.go). Events are written by one goroutine
// in batches (group commit) and fsync'd before the server answers the
// command that caused them. At start the log is replayed, a torn last line
// ignored, and rewritten to hold only the live state.
type StoreLog struct {
	path     string
	messages bool // also persist undelivered messages

	mu      sync.Mutex
	pending []byte
	waiters []chan error
	wake    chan struct{}
	done    chan struct{}
	f       *os.File
}

const storeLogFile = "queues.log"

// OpenStoreLog replays DIR/queues.log into s, compacts it, and starts
// appending to it.
func OpenStoreLog(dir string, s *Server, messages bool) (*StoreLog, error) {
	l := &StoreLog{path: filepath.Join(dir, storeLogFile), messages: messages, wake: make(chan struct{}, 1), done: make(chan struct{})}
	if err := l.replay(s); err != nil {
		return nil, err
	}
	if err := atomicfile.Write(l.path, l.snapshot(s), 0o600); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, err
	}
	l.f = f
	go l.writer()
	s.log = l
	return l, nil
}

// record queues an event line; the returned function waits until it is
// durable. Called with the server lock held, so events keep their order.
func (l *StoreLog) record(fields ...string) func() error {
	ch := make(chan error, 1)
	l.mu.Lock()
	l.pending = append(l.pending, marshalEvent(fields)...)
	l.waiters = append(l.waiters, ch)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return func() error { return <-ch }
}

func (l *StoreLog) writer() {
	for {
		select {
		case <-l.wake:
		case <-l.done:
			return
		}
		l.mu.Lock()
		buf, waiters := l.pending, l.waiters
		l.pending, l.waiters = nil, nil
		l.mu.Unlock()
		_, err := l.f.Write(buf)
		if err == nil {
			err = l.f.Sync()
		}
		for _, w := range waiters {
			w <- err
		}
	}
}

// Close stops the writer after what is queued.
func (l *StoreLog) Close() error {
	close(l.done)
	return l.f.Close()
}

// replay rebuilds queues from the log.
func (l *StoreLog) replay(s *Server) error {
	b, err := os.ReadFile(l.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if i := bytes.LastIndexByte(b, '\n'); i+1 < len(b) {
		b = b[:i+1] // a torn last line never got its fsync, nor an answer
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		f, err := parseEvent(sc.Text())
		if err == nil {
			err = s.apply(f)
		}
		if err != nil {
			return fmt.Errorf("%s line %d: %w", l.path, n, err)
		}
	}
	return sc.Err()
}

// apply replays one event that parseEvent accepted.
func (s *Server) apply(f []string) error {
	bad := errEvent
	rb, _ := smp.DecodeBase64(f[1])
	rid, _ := toID(rb)
	q := s.byRID[rid]
	if f[0] != "NEW" && q == nil {
		return nil // an event for a queue deleted later in the log
	}
	switch {
	case f[0] == "NEW":
		sb, err1 := smp.DecodeBase64(f[2])
		sid, ok := toID(sb)
		key, err2 := smp.ParseKey(f[3])
		if errors.Is(err2, smp.ErrWeakKey) && err1 == nil && ok {
			return nil // made before weak keys were refused: not revived
		}
		if err1 != nil || err2 != nil || !ok {
			return bad
		}
		q := &queue{rid: rid, sid: sid, rkey: key}
		s.byRID[rid], s.bySID[sid] = q, q
		s.added()
	case f[0] == "BOX":
		k, err := smp.DecodeBase64(f[2])
		if err != nil || len(k) != 32 {
			return bad
		}
		q.box = (*[32]byte)(k)
	case f[0] == "KEY":
		key, err := smp.ParseKey(f[2])
		if errors.Is(err, smp.ErrWeakKey) { // as for NEW: the queue is dropped
			delete(s.byRID, q.rid)
			delete(s.bySID, q.sid)
			s.removed(q)
			return nil
		}
		if err != nil {
			return bad
		}
		q.skey = key
	case f[0] == "HOLD":
		q.suspended, q.heldAt = true, s.cfg.Now() // a legacy HOLD has no time: the grace period starts now
		if len(f) == 3 {
			ns, _ := strconv.ParseInt(f[2], 10, 64)
			q.heldAt = time.Unix(0, ns)
		}
	case f[0] == "DEL":
		delete(s.byRID, q.rid)
		delete(s.bySID, q.sid)
		s.removed(q)
	case f[0] == "MSG":
		ns, err1 := strconv.ParseInt(f[2], 10, 64)
		body, err2 := smp.DecodeBase64(f[4])
		if err1 != nil || err2 != nil || (f[3] != "b" && f[3] != "s") {
			return bad
		}
		s.stored(q, message{received: time.Unix(0, ns), body: body, binary: f[3] == "b"})
	case f[0] == "ACK":
		ns, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			return bad
		}
		for i, m := range q.msgs { // drop it and what expired before it
			if m.received.UnixNano() == ns {
				s.dropped(q, q.msgs[:i+1]...)
				q.msgs = q.msgs[i+1:]
				break
			}
		}
	default:
		return bad
	}
	return nil
}

// snapshot writes the live state as a fresh log.
func (l *StoreLog) snapshot(s *Server) []byte {
	var b bytes.Buffer
	for _, q := range s.byRID {
		fmt.Fprintf(&b, "NEW %s %s %s\n", smp.Encode(q.rid[:]), smp.Encode(q.sid[:]), q.rkey)
		if q.box != nil {
			fmt.Fprintf(&b, "BOX %s %s\n", smp.Encode(q.rid[:]), smp.Encode(q.box[:]))
		}
		if q.skey != nil {
			fmt.Fprintf(&b, "KEY %s %s\n", smp.Encode(q.rid[:]), q.skey)
		}
		if q.suspended {
			fmt.Fprintf(&b, "HOLD %s %d\n", smp.Encode(q.rid[:]), q.heldAt.UnixNano())
		}
		if !l.messages {
			s.dropped(q, q.msgs...)
			q.msgs = nil
		}
		for _, m := range q.msgs {
			fmt.Fprintf(&b, "MSG %s %d %s %s\n", smp.Encode(q.rid[:]), m.received.UnixNano(), kind(m.binary), smp.Encode(m.body))
		}
	}
	return b.Bytes()
}

func kind(binary bool) string {
	if binary {
		return "b"
	}
	return "s"
}
