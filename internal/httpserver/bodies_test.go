package httpserver

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// holdBody sends a POST whose body lacks its last byte, from the local
// address from, and leaves the connection open.
func holdBody(t *testing.T, addr, from string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "POST /add HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n123456789")
	t.Cleanup(func() { c.Close() })
	return c
}

func post(t *testing.T, addr, from string) int {
	t.Helper()
	tr := &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}).DialContext}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Post("http://"+addr+"/add", "text/plain", strings.NewReader("0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestAttackBodiesFromOneSource: with only a bound in all, 64 half-sent
// bodies from one address shut out every honest submitter for as long as
// the read timeout. One address now holds at most its share, and each
// held body is cut off after the body timeout.
func TestAttackBodiesFromOneSource(t *testing.T) {
	b := NewBodies(8, 2, 500*time.Millisecond)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := b.Read(w, r, 1<<10); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok"))
	}))
	// As in production, the server's own read timeout ends what a refused
	// request leaves unread; cleanups close the held connections first.
	srv.Config.ReadTimeout = 2 * time.Second
	srv.Start()
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	for range 8 { // the attacker tries to take every slot
		holdBody(t, addr, "127.0.0.1")
	}
	time.Sleep(100 * time.Millisecond)
	if got := post(t, addr, "127.0.0.2"); got != http.StatusOK {
		t.Fatalf("another address while one holds its share: %d, want 200", got)
	}
	if got := post(t, addr, "127.0.0.1"); got != http.StatusServiceUnavailable {
		t.Fatalf("the holding address asks for one more: %d, want 503", got)
	}
	time.Sleep(time.Second) // past the body timeout: the held bodies are cut off
	if got := post(t, addr, "127.0.0.1"); got != http.StatusOK {
		t.Fatalf("after the body timeout: %d, want 200", got)
	}
}
