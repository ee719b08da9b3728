package server

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestOutbox(t *testing.T) {
	o := newOutbox()
	for _, tx := range []string{"a", "b", "c"} {
		o.post([]byte(tx))
	}
	var writes [][]string
	done := make(chan struct{})
	errStop := errors.New("stop")
	err := o.run(func(batch [][]byte) error {
		var w []string
		for _, b := range batch {
			w = append(w, string(b))
		}
		writes = append(writes, w)
		if len(writes) == 2 {
			return errStop
		}
		o.post([]byte("d"))
		return nil
	}, done)
	if !errors.Is(err, errStop) {
		t.Fatalf("run ended with %v, not the write's error", err)
	}
	if len(writes) != 2 || len(writes[0]) != 1 || writes[0][0] != "abc" || len(writes[1]) != 1 || writes[1][0] != "d" {
		t.Fatalf("writes %q: want everything pending in one buffer, in order", writes)
	}
	o.close()
	o.post([]byte("e"))
	close(done)
	if o.run(func([][]byte) error { t.Fatal("wrote after close"); return nil }, done) != nil || o.pending != nil {
		t.Fatal("a post after close was kept")
	}
}

// TestOutboxLimit: past its limit the outbox closes, drops what is
// pending, and calls overflow once; bytes written leave the count.
func TestOutboxLimit(t *testing.T) {
	o := newOutbox()
	overflows := 0
	o.limit(10, nil, func() { overflows++ })
	o.post([]byte("12345"))
	o.post([]byte("12345"))
	done := make(chan struct{})
	wrote := make(chan struct{})
	writes := 0
	go o.run(func([][]byte) error {
		if writes++; writes == 1 {
			close(wrote)
			return nil
		}
		<-done // later writes stall, as to a reader that stopped reading
		return nil
	}, done)
	<-wrote
	for o.heldBytes() != 0 { // the write's bytes leave the count after it returns
		runtime.Gosched()
	}
	o.post([]byte("1234567890")) // fits again, pending or being written
	o.post([]byte("1"))          // does not: the reader is behind
	o.post([]byte("1"))
	defer close(done)
	o.mu.Lock()
	defer o.mu.Unlock()
	if overflows != 1 || !o.closed || o.pending != nil {
		t.Fatalf("overflows %d, closed %v, pending %q", overflows, o.closed, o.pending)
	}
}

func (o *outbox) heldBytes() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.held
}

// TestAttackTextOutboxCount: on the text transport every written answer
// left the outbox's count (net.Buffers.WriteTo clears the slices it
// wrote, and they were counted after), so a connection was closed once it
// had been sent OutboxBytes in all.
func TestAttackTextOutboxCount(t *testing.T) {
	_, addr := startText(t, Config{OutboxBytes: 1024})
	p := dial(t, addr)
	rid, _ := p.create()
	for range 100 { // about 40 bytes each: 4 KB in all
		p.raw(true, rid, "SUB")
		p.expect(rid + " OK")
	}
}

// TestAttackOutboxMemory: a connection that pipelines tiny commands and
// never reads made its outbox hold five times the bytes the limit counts
// (a slice per 14-byte answer; 13.3 MB for a 4 MiB limit). Now the memory
// held stays within twice the limit (4.3 MB).
func TestAttackOutboxMemory(t *testing.T) {
	const limit = 4 << 20
	const answer = "\n\nERR UNKNOWN\n" // what "FOO" gets
	before := heapInUse()
	o := newOutbox()
	o.limit(limit, nil, func() { t.Fatal("overflow under the limit") })
	for range limit / len(answer) {
		o.post([]byte(answer)) // nothing runs the outbox: the reader is stalled
	}
	after := heapInUse()
	if grown := after - before; grown > 2*limit {
		t.Fatalf("an outbox counting %d bytes holds %d", o.heldBytes(), grown)
	}
	runtime.KeepAlive(o)
}

// TestAttackOutboxTotal: connections each under OutboxBytes could together
// hold any amount; past OutboxTotal the connection whose answer would
// pass it is closed, and the others keep working.
func TestAttackOutboxTotal(t *testing.T) {
	s := New(Config{OutboxBytes: 80 << 10, OutboxTotal: 100 << 10})
	stalled := func() net.Conn { // a connection whose client never reads
		c, srv := net.Pipe()
		go s.Serve(textFramer{srv})
		t.Cleanup(func() { c.Close() })
		return c
	}
	foo := strings.Repeat("\n\nFOO\n", 1000) // answers: 14 KB
	a, b := stalled(), stalled()
	for range 4 {
		a.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := a.Write([]byte(foo)); err != nil {
			t.Fatalf("a connection under both limits was closed: %v", err)
		}
	}
	for s.outboxes.held.Load() < 4*14000 { // a's answers are all posted
		time.Sleep(time.Millisecond)
	}
	var err error
	for i := 0; i < 5 && err == nil; i++ { // 70 KB, under 80 KB, but 126 KB in all
		b.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, err = b.Write([]byte(foo))
	}
	for end := time.Now().Add(2 * time.Second); err == nil && time.Now().Before(end); { // the close is asynchronous
		time.Sleep(time.Millisecond)
		_, err = b.Write([]byte("\n"))
	}
	if err == nil || os.IsTimeout(err) {
		t.Fatalf("the connection past OutboxTotal was kept (%v)", err)
	}
	a.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, 14)
	if _, err := io.ReadFull(a, got); err != nil || string(got) != "\n\nERR UNKNOWN\n" {
		t.Fatalf("the connection under the limits: %q %v", got, err)
	}
}
