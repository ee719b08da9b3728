package httpserver

import (
	"bufio"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestAttackConnectionFlood: connections that hold a request open are
// capped at MaxConns; beyond it a new connection waits unserved (in the
// kernel's queue) until one closes, and is then served.
func TestAttackConnectionFlood(t *testing.T) {
	if Default.MaxConns != 1024 {
		t.Errorf("Default.MaxConns = %d", Default.MaxConns)
	}
	l := Limits{ReadHeader: 10 * time.Second, Read: 10 * time.Second, Write: 10 * time.Second,
		Idle: 10 * time.Second, MaxHeaderBytes: 4 << 10, MaxConns: 2}
	addr := start(t, l)
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhalf")) // and wait
		held = append(held, c)
	}
	client := &http.Client{Timeout: 500 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := client.Get("http://" + addr + "/"); err == nil {
		resp.Body.Close()
		t.Fatalf("a third connection was served past MaxConns 2: %s", resp.Status)
	}
	held[0].Close()
	client.Timeout = 5 * time.Second
	resp, err := client.Get("http://" + addr + "/")
	if err != nil {
		t.Fatalf("not served after a held connection closed: %v", err)
	}
	resp.Body.Close()
}

// dialFrom opens a connection to addr from the local address from, and
// sends one keep-alive request on it.
func dialFrom(t *testing.T, from, addr string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	return c, nil
}

// TestAttackConnectionsFromOneSource: one address that holds idle
// keep-alive connections gets at most MaxConnsPerSource of them; another
// address is still served (outside review of the explorer, M2).
func TestAttackConnectionsFromOneSource(t *testing.T) {
	if Default.MaxConnsPerSource != DefaultConnsPerSource || DefaultConnsPerSource != 64 {
		t.Errorf("Default.MaxConnsPerSource = %d", Default.MaxConnsPerSource)
	}
	l := Limits{ReadHeader: 10 * time.Second, Read: 10 * time.Second, Write: 10 * time.Second,
		Idle: time.Minute, MaxHeaderBytes: 4 << 10, MaxConns: 4, MaxConnsPerSource: 3}
	addr := start(t, l)
	var held []net.Conn
	for i := range 3 {
		c, err := dialFrom(t, "127.0.0.1", addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		held = append(held, c)
	}
	if _, err := dialFrom(t, "127.0.0.1", addr); err == nil {
		t.Error("a fourth connection from one address was served past MaxConnsPerSource 3")
	}
	if _, err := dialFrom(t, "127.0.0.2", addr); err != nil {
		t.Errorf("another address was shut out: %v", err)
	}
	held[0].Close()
	time.Sleep(100 * time.Millisecond) // the server sees the close
	if _, err := dialFrom(t, "127.0.0.1", addr); err != nil {
		t.Errorf("not served again after one of its connections closed: %v", err)
	}
}

func TestSourceOf(t *testing.T) {
	for _, tc := range []struct{ a, b string }{{"[2001:db8::1]:1", "[2001:db8::ffff:2]:2"}, {"192.0.2.1:1", "192.0.2.1:9"}} {
		a, _ := net.ResolveTCPAddr("tcp", tc.a)
		b, _ := net.ResolveTCPAddr("tcp", tc.b)
		if sourceOf(a) != sourceOf(b) {
			t.Errorf("%s and %s are counted apart", tc.a, tc.b)
		}
	}
	a, _ := net.ResolveTCPAddr("tcp", "[2001:db8:0:1::1]:1")
	b, _ := net.ResolveTCPAddr("tcp", "[2001:db8:0:2::1]:1")
	if sourceOf(a) == sourceOf(b) {
		t.Error("two /64s are counted together")
	}
}
