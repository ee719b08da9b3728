package httpserver

import (
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
