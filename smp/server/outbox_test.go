package server

import (
	"errors"
	"runtime"
	"testing"
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
	if len(writes) != 2 || len(writes[0]) != 3 || writes[0][2] != "c" || len(writes[1]) != 1 || writes[1][0] != "d" {
		t.Fatalf("writes %q: want everything pending in one write, in order", writes)
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
	o.limit(10, func() { overflows++ })
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
