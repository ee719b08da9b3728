package server

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"time"

	"ssms.dev/ssms/smp"
)

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
			s.remove(q)
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
		s.remove(q)
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

// snapshot is the live state as a fresh log. s.mu is held (or s is not
// serving yet).
func (l *StoreLog) snapshot(s *Server) []byte {
	var b []byte
	ns := func(t time.Time) string { return strconv.FormatInt(t.UnixNano(), 10) }
	for _, q := range s.byRID {
		rid := smp.Encode(q.rid[:])
		b = append(b, marshalEvent([]string{"NEW", rid, smp.Encode(q.sid[:]), q.rkey.String()})...)
		if q.box != nil {
			b = append(b, marshalEvent([]string{"BOX", rid, smp.Encode(q.box[:])})...)
		}
		if q.skey != nil {
			b = append(b, marshalEvent([]string{"KEY", rid, q.skey.String()})...)
		}
		if q.suspended {
			b = append(b, marshalEvent([]string{"HOLD", rid, ns(q.heldAt)})...)
		}
		for _, m := range q.msgs {
			if l.messages {
				b = append(b, marshalEvent([]string{"MSG", rid, ns(m.received), kind(m.binary), smp.Encode(m.body)})...)
			}
		}
	}
	return b
}

func kind(binary bool) string {
	if binary {
		return "b"
	}
	return "s"
}
