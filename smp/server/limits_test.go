package server

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"ssms.dev/ssms/smp"
)

// Each limit of Config, mounted as an attack on the text transport: the
// transmission past the limit gets the specification's error, and room
// made (DEL, ACK) is room again.

func TestAttackQueuesPerConnection(t *testing.T) {
	_, addr := startText(t, Config{ConnQueues: 3})
	a := dial(t, addr)
	for range 3 {
		a.create()
	}
	a.raw(false, "", "CONN "+a.pub)
	a.expect(" ERR AUTH")
	b := dial(t, addr) // another connection may create its own
	b.create()
}

func TestAttackQueuesTotal(t *testing.T) {
	_, addr := startText(t, Config{MaxQueues: 3})
	a, b := dial(t, addr), dial(t, addr)
	rid, _ := a.create()
	a.create()
	b.create()
	b.raw(false, "", "CONN "+b.pub)
	b.expect(" ERR AUTH")
	a.raw(true, rid, "DEL")
	a.expect(rid + " OK")
	b.create()
}

func TestAttackQueueMessages(t *testing.T) {
	_, addr := startText(t, Config{QueueQuota: 3})
	r, s := dial(t, addr), dial(t, addr)
	rid, sid := r.create()
	for i := range 3 {
		s.raw(false, sid, fmt.Sprint("SEND :", i))
		s.expect(sid + " OK")
	}
	s.raw(false, sid, "SEND :3")
	s.expect(sid + " ERR SIZE")
	r.expect(rid + " MSG T :0")
	r.raw(true, rid, "ACK")
	r.expect(rid + " OK")
	r.expect(rid + " MSG T :1")
	s.raw(false, sid, "SEND :3")
	s.expect(sid + " OK")
}

func TestAttackQueueBytes(t *testing.T) {
	_, addr := startText(t, Config{QueueBytes: 10})
	r, s := dial(t, addr), dial(t, addr)
	rid, sid := r.create()
	s.raw(false, sid, "SEND :123456")
	s.expect(sid + " OK")
	s.raw(false, sid, "SEND :12345")
	s.expect(sid + " ERR SIZE")
	s.raw(false, sid, "SEND :1234")
	s.expect(sid + " OK")
	r.expect(rid + " MSG T :123456")
	r.raw(true, rid, "ACK")
	r.expect(rid + " OK")
	r.expect(rid + " MSG T :1234")
	s.raw(false, sid, "SEND :12345")
	s.expect(sid + " OK")
}

func TestAttackTotalMessages(t *testing.T) {
	srv, addr := startText(t, Config{MaxMessages: 3})
	c, s := dial(t, addr), dial(t, addr)
	rid1, sid1 := c.create()
	_, sid2 := c.create()
	c.conn.Close() // nobody reads: everything stays queued
	for _, sid := range []string{sid1, sid1, sid2} {
		s.raw(false, sid, "SEND :x")
		s.expect(sid + " OK")
	}
	s.raw(false, sid2, "SEND :x")
	s.expect(sid2 + " ERR SIZE")
	r := dial(t, addr)
	r.sign, r.pub = c.sign, c.pub
	r.raw(true, rid1, "DEL") // its two messages go with it
	r.expect(rid1 + " OK")
	s.raw(false, sid2, "SEND :x")
	s.expect(sid2 + " OK")
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.held.messages != 2 || srv.held.queues != 1 {
		t.Fatalf("held %+v, want 2 messages in 1 queue", srv.held)
	}
}

func TestAttackTotalBytes(t *testing.T) {
	srv, addr := startText(t, Config{MaxBytes: 10, MessageTTL: time.Hour})
	r, s := dial(t, addr), dial(t, addr)
	_, sid1 := r.create()
	_, sid2 := r.create()
	r.conn.Close()           // nobody reads: everything stays queued
	waitUnsubscribed(t, srv) // else a message may go out to r before the server sees it leave, and stay in flight
	s.raw(false, sid1, "SEND :123456")
	s.expect(sid1 + " OK")
	s.raw(false, sid2, "SEND :12345")
	s.expect(sid2 + " ERR SIZE")
	s.raw(false, sid2, "SEND :1234")
	s.expect(sid2 + " OK")
	// Expiry frees room too.
	srv.mu.Lock()
	srv.cfg.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	srv.mu.Unlock()
	if srv.Sweep(); srv.held.bytes != 0 {
		t.Fatalf("held %d bytes after every message expired", srv.held.bytes)
	}
	s.raw(false, sid2, "SEND :1234567890")
	s.expect(sid2 + " OK")
}

// TestAttackUnsignedFlood is the reported attack: queues created and
// flooded with unsigned 15 KiB SENDs as fast as the server answers, no key
// needed. With the limits, the server holds at most MaxBytes of bodies,
// every SEND past it is ERR SIZE, every CONN past the queues allowed is
// ERR AUTH, and the heap grows by about what is held.
func TestAttackUnsignedFlood(t *testing.T) {
	const maxBytes = 4 << 20
	srv, addr := startText(t, Config{MaxBytes: maxBytes, ConnQueues: 40})
	before := heapInUse()
	a := dial(t, addr)
	body := strings.Repeat("x", smp.MaxBody)
	var sids []string
	for range 60 {
		a.raw(false, "", "CONN "+a.pub)
		got := a.read()
		var rid, sid string
		if _, err := fmt.Sscanf(got, " IDS %s %s", &rid, &sid); err != nil {
			if got != " ERR AUTH" {
				t.Fatalf("CONN answered %q", got)
			}
			continue
		}
		sids = append(sids, sid)
	}
	if len(sids) != 40 {
		t.Fatalf("%d queues created on one connection, want 40", len(sids))
	}
	a.conn.Close()
	s := dial(t, addr)
	accepted, refused := 0, 0
	for _, sid := range sids {
		for range 128 { // the queue quota: 40 full queues would be 75 MiB
			s.raw(false, sid, "SEND :"+body)
			switch got := s.read(); got {
			case sid + " OK":
				accepted++
			case sid + " ERR SIZE":
				refused++
			default:
				t.Fatalf("SEND answered %q", got)
			}
		}
	}
	if held := accepted * smp.MaxBody; held > maxBytes || refused == 0 {
		t.Fatalf("accepted %d bodies (%d bytes), refused %d; limit %d bytes", accepted, held, refused, maxBytes)
	}
	if grown := heapInUse() - before; grown > 3*maxBytes {
		t.Fatalf("heap grew by %d bytes holding at most %d", grown, maxBytes)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.held.bytes > maxBytes {
		t.Fatalf("server holds %d bytes", srv.held.bytes)
	}
}

func heapInUse() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}

// TestAttackSlowReader is the reported attack: the same signed SUB, again
// and again, its answers (OK and the message in flight, each time) never
// read. The server closes the connection once what waits for it passes
// OutboxBytes, instead of holding every answer.
func TestAttackSlowReader(t *testing.T) {
	_, addr := startText(t, Config{OutboxBytes: 256 << 10})
	r, s := dial(t, addr), dial(t, addr)
	rid, sid := r.create()
	s.raw(false, sid, "SEND :"+strings.Repeat("m", smp.MaxBody))
	s.expect(sid + " OK")
	sub := rid + r.eol + "SUB"
	tx := []byte(smp.Encode(r.sign([]byte(sub))) + "\n" + sub + "\n")
	var flood []byte
	for range 100 {
		flood = append(flood, tx...)
	}
	// Write until the server hangs up. The pauses let it catch up with
	// what the kernel buffered, so that the answers pile up on its side.
	r.conn.SetWriteDeadline(time.Now().Add(20 * time.Second))
	for i := range 400 { // 40,000 SUBs: 600 MiB of answers
		if _, err := r.conn.Write(flood); err != nil {
			t.Logf("closed by the server after %d SUBs: %v", i*100, err)
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("40,000 SUBs written without the server closing the connection")
}

// TestAttackConnQueuesLive: ConnQueues counts the live queues a
// connection created; it counted every CONN ever made, so DEL did not
// give the place back.
func TestAttackConnQueuesLive(t *testing.T) {
	_, addr := startText(t, Config{ConnQueues: 2})
	a := dial(t, addr)
	rid, _ := a.create()
	a.create()
	a.raw(true, rid, "DEL")
	a.expect(rid + " OK")
	a.create()
	a.raw(false, "", "CONN "+a.pub)
	a.expect(" ERR AUTH")
}

// waitUnsubscribed waits until the server has seen every subscriber leave.
func waitUnsubscribed(t *testing.T, srv *Server) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		srv.mu.Lock()
		subscribed := 0
		for _, q := range srv.byRID {
			if q.sub != nil {
				subscribed++
			}
		}
		srv.mu.Unlock()
		if subscribed == 0 {
			return
		}
	}
	t.Fatal("the server still has subscribers 5 s after they closed")
}
