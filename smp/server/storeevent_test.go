package server

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ssms.dev/ssms/smp"
)

// TestAttackEmptyMessageRestart: an anonymous empty message on a server
// that persists messages once made its store log unreadable ("MSG rid ns s "
// has an empty last field), so the server never started again.
func TestAttackEmptyMessageRestart(t *testing.T) {
	dir := t.TempDir()
	s := New(Config{})
	l, err := OpenStoreLog(dir, s, true)
	if err != nil {
		t.Fatal(err)
	}
	addr := serveOn(t, s)
	r, a := dial(t, addr), dial(t, addr)
	rid, sid := r.create()
	r.conn.Close()
	a.raw(false, sid, "SEND :")
	a.expect(sid + " OK")
	a.raw(false, sid, "SEND 0\n")
	a.expect(sid + " OK")
	l.Close()

	s2 := New(Config{})
	l2, err := OpenStoreLog(dir, s2, true)
	if err != nil {
		t.Fatalf("restart after an empty message: %v", err)
	}
	defer l2.Close()
	r2 := reconnect(t, serveOn(t, s2), r)
	r2.raw(true, rid, "SUB")
	r2.expect(rid + " OK")
	r2.expect(rid + " MSG T :")
	r2.raw(true, rid, "ACK")
	r2.expect(rid + " OK")
	r2.expect(rid + " MSG T 0 <>")
}

// TestStoreLogLegacyLines: lines the server wrote before this grammar was
// written down (an empty body, HOLD without a time) replay.
func TestStoreLogLegacyLines(t *testing.T) {
	dir := t.TempDir()
	rid, sid := newID(), newID()
	r := smp.Encode(rid[:])
	log := "NEW " + r + " " + smp.Encode(sid[:]) + " " + newKeyString(t) + "\n" +
		"MSG " + r + " 5 s \n" + "MSG " + r + " 6 b \n" + "HOLD " + r + "\n"
	if err := os.WriteFile(filepath.Join(dir, storeLogFile), []byte(log), 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	s := New(Config{Now: func() time.Time { return now }})
	l, err := OpenStoreLog(dir, s, true)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	q := s.byRID[rid]
	if q == nil || len(q.msgs) != 2 || len(q.msgs[0].body) != 0 || !q.msgs[1].binary || !q.suspended || !q.heldAt.Equal(now) {
		t.Fatalf("replayed %+v", q)
	}
}

// TestAttackHoldGraceRestart: the grace period of a held queue is counted
// from HOLD, not from the last restart, so a server restarted more often
// than the grace period still removes held queues.
func TestAttackHoldGraceRestart(t *testing.T) {
	dir := t.TempDir()
	now := time.Now() // connections take their deadlines from it
	clock := func() time.Time { return now }
	s := New(Config{Now: clock, HoldGrace: time.Hour})
	l, err := OpenStoreLog(dir, s, false)
	if err != nil {
		t.Fatal(err)
	}
	p := dial(t, serveOn(t, s))
	rid, _ := p.create()
	p.raw(true, rid, "HOLD")
	p.expect(rid + " OK")
	l.Close()
	for range 3 { // restarts every 40 minutes
		now = now.Add(40 * time.Minute)
		s = New(Config{Now: clock, HoldGrace: time.Hour})
		if l, err = OpenStoreLog(dir, s, false); err != nil {
			t.Fatal(err)
		}
		s.Sweep()
		l.Close()
	}
	if len(s.byRID) != 0 {
		t.Fatal("a queue held for 2 hours survived a 1-hour grace period across restarts")
	}
}

func FuzzStoreEvent(f *testing.F) {
	rid, sid := newID(), newID()
	r := smp.Encode(rid[:])
	for _, l := range []string{
		"NEW " + r + " " + smp.Encode(sid[:]) + " " + smp.Encode([]byte("der")),
		"BOX " + r + " " + smp.Encode(make([]byte, 32)),
		"KEY " + r + " " + smp.Encode([]byte("der")),
		"HOLD " + r, "HOLD " + r + " 12", "DEL " + r,
		"MSG " + r + " 1 s ", "MSG " + r + " -1 b " + smp.Encode([]byte("hi")),
		"ACK " + r + " 1", "MSG " + r + " 01 s ", "DEL  " + r, "DEL " + r + " ",
	} {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, line string) {
		fields, err := parseEvent(line)
		if err != nil {
			return
		}
		if got := marshalEvent(fields); !bytes.Equal(got, []byte(line+"\n")) {
			t.Fatalf("parse then marshal of %q gave %q", line, got)
		}
		if strings.Contains(line, "\n") {
			t.Fatalf("a line with LF parsed: %q", line)
		}
		s := New(Config{})
		if fields[0] != "NEW" {
			s.apply([]string{"NEW", fields[1], smp.Encode(sid[:]), newKeyString(t)})
		}
		s.apply(fields) // must not panic
	})
}

// TestStoreEventCanonical: a table of lines that are not the canonical
// spelling of any event.
func TestStoreEventCanonical(t *testing.T) {
	r := smp.Encode(make([]byte, 16))
	for _, l := range []string{
		"", "DEL", "DEL  " + r, "DEL " + r + " ", " DEL " + r, "del " + r,
		"MSG " + r + " 01 s ", "MSG " + r + " +1 s ", "MSG " + r + " 1 x ", "MSG " + r + " 1 s",
		"MSG " + r + " 1 s AB", "HOLD " + r + " ", "KEY " + r + " ", "BOX " + r + " AAAA",
		"NEW " + r + " " + r, "ACK " + r + " 1 2", "DEL " + strings.TrimSuffix(r, "=="),
	} {
		if _, err := parseEvent(l); err == nil {
			t.Errorf("parseEvent(%q) accepted it", l)
		}
	}
}

func newKeyString(tb testing.TB) string {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	return smpKey(tb, priv).String()
}
