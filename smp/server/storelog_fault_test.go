package server

import (
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"ssms.dev/ssms/smp"
)

// fullDisk is a log file on a disk that fills up: while full, a write
// stores half its bytes and fails with ENOSPC, as write(2) does.
type fullDisk struct {
	*os.File
	mu   sync.Mutex
	full bool
}

func (d *fullDisk) Write(b []byte) (int, error) {
	d.mu.Lock()
	full := d.full
	d.mu.Unlock()
	if full {
		n, _ := d.File.Write(b[:len(b)/2])
		return n, &os.PathError{Op: "write", Path: d.Name(), Err: syscall.ENOSPC}
	}
	return d.File.Write(b)
}

func (d *fullDisk) setFull(full bool) {
	d.mu.Lock()
	d.full = full
	d.mu.Unlock()
}

// withFullDisk makes the store logs opened during the test write to a
// fullDisk, and returns it once one is opened.
func withFullDisk(t *testing.T) func() *fullDisk {
	var d *fullDisk
	old := wrapLog
	wrapLog = func(f *os.File) logFile { d = &fullDisk{File: f}; return d }
	t.Cleanup(func() { wrapLog = old })
	return func() *fullDisk { return d }
}

// TestAttackStoreLogENOSPC: an append that failed half-written used to
// stay in the log; the next append glued onto it, and the server did not
// start again ("malformed event"). Now the half is cut off. A CONN whose
// event could not be written is undone: it answered ERR INTERNAL, but the
// queue stayed and counted against the limits; so is a SEND.
func TestAttackStoreLogENOSPC(t *testing.T) {
	disk := withFullDisk(t)
	dir := t.TempDir()
	s := New(Config{})
	l, err := OpenStoreLog(dir, s, true)
	if err != nil {
		t.Fatal(err)
	}
	p := dial(t, serveOn(t, s))
	rid, sid := p.create()
	disk().setFull(true)
	p.raw(false, sid, "SEND :lost")
	p.expect(sid + " ERR INTERNAL")
	p.raw(false, "", "CONN "+p.pub)
	p.expect(" ERR INTERNAL")
	s.mu.Lock()
	queues := s.held.queues
	s.mu.Unlock()
	if queues != 1 {
		t.Fatalf("%d queues held after a CONN that failed, want 1", queues)
	}
	s.mu.Lock()
	messages := s.held.messages
	s.mu.Unlock()
	if messages != 0 {
		t.Fatalf("%d messages held after a SEND that failed, want 0", messages)
	}
	disk().setFull(false)
	p.raw(false, sid, "SEND :kept")
	p.expect(sid + " OK")
	l.Close()

	s2 := New(Config{})
	l2, err := OpenStoreLog(dir, s2, true)
	if err != nil {
		b, _ := os.ReadFile(filepath.Join(dir, storeLogFile))
		t.Fatalf("restart after ENOSPC: %v\n%s", err, b)
	}
	defer l2.Close()
	p2 := reconnect(t, serveOn(t, s2), p)
	p2.raw(true, rid, "SUB")
	p2.expect(rid + " OK")
	p2.expect(rid + " MSG T :kept")
}

// TestAttackStoreLogGrowth: the log was compacted only at start, so CONN
// then DEL, again and again, grew it without bound. Now it is rewritten
// to the live state once it passes twice its size after the last
// rewrite, and what it holds still replays.
func TestAttackStoreLogGrowth(t *testing.T) {
	dir := t.TempDir()
	s := New(Config{})
	l, err := OpenStoreLog(dir, s, true)
	if err != nil {
		t.Fatal(err)
	}
	l.floor = 8 << 10
	p := dial(t, serveOn(t, s))
	keep, sid := p.create()
	p.raw(false, sid, "SEND :kept")
	p.expect(sid + " OK")
	p.expect(keep + " MSG T :kept")
	largest := int64(0)
	for range 400 { // about 150 bytes of log each: 60 KB without compaction
		rid, _ := p.create()
		p.raw(true, rid, "DEL")
		p.expect(rid + " OK")
		if fi, err := os.Stat(filepath.Join(dir, storeLogFile)); err == nil {
			largest = max(largest, fi.Size())
		}
	}
	if largest > 3*l.floor {
		t.Fatalf("the log grew to %d bytes for one live queue", largest)
	}
	l.Close()
	s2 := New(Config{})
	l2, err := OpenStoreLog(dir, s2, true)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if q := s2.byRID[mustID(t, keep)]; len(s2.byRID) != 1 || q == nil || len(q.msgs) != 1 {
		t.Fatalf("after compactions: %d queues, want the one kept with its message", len(s2.byRID))
	}
}

func mustID(t *testing.T, s string) id {
	b, err := smp.DecodeBase64(s)
	i, ok := toID(b)
	if err != nil || !ok {
		t.Fatalf("id %q", s)
	}
	return i
}

// memLog is a log file in memory whose writes and truncations can fail.
type memLog struct {
	b                    []byte
	failWrite, failTrunc bool
}

func (m *memLog) Write(p []byte) (int, error) {
	if m.failWrite {
		m.b = append(m.b, p[:len(p)/2]...)
		return len(p) / 2, syscall.ENOSPC
	}
	m.b = append(m.b, p...)
	return len(p), nil
}

func (m *memLog) Truncate(n int64) error {
	if m.failTrunc {
		return syscall.EIO
	}
	m.b = m.b[:n]
	return nil
}

func (m *memLog) Sync() error  { return nil }
func (m *memLog) Close() error { return nil }

// TestStoreLogRefusesUntilCut: when a failed append cannot be cut off,
// later appends fail too rather than glue onto it, until the cut works.
func TestStoreLogRefusesUntilCut(t *testing.T) {
	m := &memLog{}
	l := &StoreLog{f: m}
	steps := []struct {
		line                 string
		failWrite, failTrunc bool
		ok                   bool
		want                 string
	}{
		{"A\n", false, false, true, "A\n"},
		{"BBBB\n", true, true, false, "A\nBB"},
		{"C\n", false, true, false, "A\nBB"},
		{"D\n", false, false, true, "A\nD\n"},
	}
	for i, s := range steps {
		m.failWrite, m.failTrunc = s.failWrite, s.failTrunc
		err := l.append([]byte(s.line))
		if (err == nil) != s.ok || string(m.b) != s.want {
			t.Fatalf("step %d: %v, log %q, want %q", i, err, m.b, s.want)
		}
	}
}
