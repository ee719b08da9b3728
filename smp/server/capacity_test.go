package server

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"ssms.dev/ssms/smp"
)

// TestMemoryPerIdleQueue creates 20,000 queues (a recipient key each, as in
// real use) and measures the heap they hold (budget: ≤ 2 KiB per idle queue).
func TestMemoryPerIdleQueue(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 20,000 queues")
	}
	const n = 20_000
	s := New(Config{})
	c := newClient(s)
	for range n {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		s.create(c, smp.Conn{RecipientKey: smpKey(t, priv)}) // parsed from the wire in real use: owned by the queue
	}
	c.out, c.subscribed = nil, nil // the creating connection is gone
	for _, q := range s.byRID {
		q.sub = nil
	}
	heap := func() int64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	with := heap()
	s.byRID, s.bySID = map[id]*queue{}, map[id]*queue{}
	without := heap()
	per := float64(with-without) / n
	t.Logf("%.0f bytes per idle queue, its recipient key included", per)
	if per > 2048 {
		t.Fatalf("%.0f bytes per idle queue; budget 2048", per)
	}
}

// TestIdleConnections holds 10,000 idle TLS connections open. The
// clients run in a child process (this test binary), so that neither
// process needs more than the machine's 20,000 file descriptors.
func TestIdleConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 10,000 connections")
	}
	raiseFileLimit()
	const n = 10_000
	srv := New(Config{MaxClients: n + 1, MaxPerSource: n + 1})
	dir := filepath.Join(t.TempDir(), "server")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	Init(dir, "127.0.0.1", ln.Addr().(*net.TCPAddr).Port)
	cfg, a, err := LoadTLS(dir)
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeTLS(ln, cfg)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), idleEnv+"="+a.String()+" "+strconv.Itoa(n))
	stdin, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "held "+strconv.Itoa(n)+"\n" {
		t.Fatalf("client process: %q %v", line, err)
	}
	// The client's handshake ends a moment before the server's goroutine
	// takes its slot: wait for the server's own count.
	for deadline := time.Now().Add(10 * time.Second); srv.gate.count() < n && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if got := srv.gate.count(); got != n {
		t.Fatalf("server holds %d connections, want %d", got, n)
	}
	// Still serving: one more connection works.
	c, err := tls.Dial("tcp", net.JoinHostPort(a.Host, strconv.Itoa(a.Port)), smp.ClientTLS(a.Fingerprint))
	if err != nil {
		t.Fatal(err)
	}
	p := newParty(t, smp.NewBlockConn(c))
	p.create()
	t.Logf("%d idle TLS connections held, set up in %v", n, time.Since(start).Round(time.Millisecond))
}

const idleEnv = "SSMS_SMP_IDLE_CLIENTS"

func raiseFileLimit() {
	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	lim.Cur = lim.Max
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
}

// idleClients is the child process: it opens n TLS connections to the
// address, says so, and holds them until its stdin closes.
func idleClients(spec string) {
	raiseFileLimit()
	addr, count, _ := strings.Cut(spec, " ")
	n, _ := strconv.Atoi(count)
	a, err := smp.ParseAddress(addr)
	if err != nil {
		panic(err)
	}
	cfg := smp.ClientTLS(a.Fingerprint)
	conns := make([]net.Conn, 0, n)
	for range n {
		c, err := tls.Dial("tcp", net.JoinHostPort(a.Host, strconv.Itoa(a.Port)), cfg)
		if err != nil {
			fmt.Printf("failed after %d: %v\n", len(conns), err)
			return
		}
		conns = append(conns, c)
	}
	fmt.Printf("held %d\n", len(conns))
	io.Copy(io.Discard, os.Stdin)
}

// TestConnectionLimit: connections beyond MaxClients are closed at once.
func TestConnectionLimit(t *testing.T) {
	_, addr := startText(t, Config{MaxClients: 2})
	a, b := dial(t, addr), dial(t, addr)
	a.create()
	b.create()
	c := dial(t, addr)
	c.raw(false, "", "CONN "+c.pub)
	c.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.r.ReadString('\n'); err == nil {
		t.Fatal("a connection over the limit was served")
	}
	a.conn.Close()
	time.Sleep(50 * time.Millisecond)
	d := dial(t, addr)
	d.create() // a slot came free
}
