package server

import (
	"net"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// flakyListener fails its first n accepts as a process out of file
// descriptors does.
type flakyListener struct {
	net.Listener
	fails atomic.Int32
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.fails.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// TestAttackAcceptEMFILE: running out of file descriptors for a moment
// used to end the accept loop, and the server accepted nothing more while
// the process lived.
func TestAttackAcceptEMFILE(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	fl := &flakyListener{Listener: ln}
	fl.fails.Store(5)
	errc := make(chan error, 1)
	go func() { errc <- New(Config{}).ServeText(fl) }()
	p := dial(t, ln.Addr().String())
	p.create()
	ln.Close()
	if err := <-errc; err != nil {
		t.Fatalf("ServeText after its listener closed: %v", err)
	}
}

// TestAttackHandshakeFlood: connections that never finish their TLS
// handshake take a place under MaxClients, so a burst of them is refused
// at once instead of each holding a file descriptor for the handshake
// timeout.
func TestAttackHandshakeFlood(t *testing.T) {
	a := startTLSConfig(t, Config{MaxClients: 3})
	addr := net.JoinHostPort(a.Host, strconv.Itoa(a.Port))
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	time.Sleep(50 * time.Millisecond) // the server admits them
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || os.IsTimeout(err) {
		t.Fatalf("a fourth connection was held open (%v), not refused", err)
	}
}
