package server

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const crashEnv = "SSMS_SMP_CRASH_SERVER"

// TestMain lets the test binary run as a persistent server for TestKill9.
func TestMain(m *testing.M) {
	if spec := os.Getenv(idleEnv); spec != "" {
		idleClients(spec)
		return
	}
	if dir := os.Getenv(crashEnv); dir != "" {
		s := New(Config{})
		if _, err := OpenStoreLog(dir, s, true); err != nil {
			panic(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		os.WriteFile(filepath.Join(dir, "addr.tmp"), []byte(ln.Addr().String()), 0o644)
		os.Rename(filepath.Join(dir, "addr.tmp"), filepath.Join(dir, "addr"))
		s.ServeText(ln)
		return
	}
	os.Exit(m.Run())
}

func startCrashServer(t *testing.T, dir string) (string, func()) {
	t.Helper()
	os.Remove(filepath.Join(dir, "addr"))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if b, err := os.ReadFile(filepath.Join(dir, "addr")); err == nil {
			return string(b), func() { cmd.Process.Kill(); cmd.Wait() }
		}
	}
	cmd.Process.Kill()
	t.Fatal("server did not start")
	return "", nil
}

// TestKill9 kills a persistent server with SIGKILL while a sender sends,
// restarts it, and checks that every queue and every acknowledged message
// is still there, in order, none lost and none duplicated.
func TestKill9(t *testing.T) {
	dir := t.TempDir()
	addr, kill := startCrashServer(t, dir)
	r := dial(t, addr)
	rid, sid := r.create()
	s := dial(t, addr)
	// Secure the queue, so the test also checks that KEY survives.
	s.raw(false, sid, "SEND :KEY "+s.pub)
	s.expect(sid + " OK")
	r.expect(rid + " MSG T :KEY " + s.pub)
	r.raw(true, rid, "KEY "+s.pub)
	r.expect(rid + " OK")
	r.raw(true, rid, "ACK")
	r.expect(rid + " OK")
	r.conn.Close() // messages now stay queued on the server
	var acked []string
	for round := range 5 {
		for i := range 20 {
			body := strings.Repeat("x", i) + "-" + string(rune('a'+round))
			s.raw(true, sid, "SEND :"+body)
			if got := s.read(); got != sid+" OK" {
				t.Fatalf("send: %q", got)
			}
			acked = append(acked, body)
		}
		// Unacknowledged in-flight sends may or may not survive: kill mid-stream.
		s.raw(true, sid, "SEND :maybe")
		kill()
		addr, kill = startCrashServer(t, dir)
		s = reconnect(t, addr, s)
	}
	defer kill()
	r2 := dial(t, addr)
	r2.sign, r2.pub = r.sign, r.pub
	r2.raw(true, rid, "SUB")
	r2.expect(rid + " OK")
	var got []string
	for len(got) < len(acked) {
		m := r2.read()
		body := strings.TrimPrefix(m, rid+" MSG T :")
		if body != "maybe" {
			got = append(got, body)
		}
		r2.raw(true, rid, "ACK")
		r2.expect(rid + " OK")
	}
	for i := range acked {
		if got[i] != acked[i] {
			t.Fatalf("message %d after kill -9: %q, want %q", i, got[i], acked[i])
		}
	}
	// The queue is still secured: unsigned sends are refused.
	s.raw(false, sid, "SEND :unsigned")
	s.expect(sid + " ERR AUTH")
}

// reconnect is a new connection for the same party.
func reconnect(t *testing.T, addr string, p *party) *party {
	q := dial(t, addr)
	q.sign, q.pub = p.sign, p.pub
	return q
}
