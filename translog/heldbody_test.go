package translog

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestAttackHeldBodies: clients that send all but the last byte of a
// POST /add body and wait hold at most MaxBodies bodies being read; the
// next one is answered 503 with Retry-After, without its body being read,
// and once a held body goes the log reads again.
func TestAttackHeldBodies(t *testing.T) {
	s, _ := newStore(t)
	seq := NewSequencer(s, DefaultMaxPending, DefaultMaxBatch)
	t.Cleanup(seq.Close)
	ls := NewServer(s, seq, admitPrefixed)
	ls.MaxBodies = 2
	srv := httptest.NewServer(ls.Handler())
	t.Cleanup(srv.Close)
	var held []net.Conn
	for range 2 {
		held = append(held, holdBody(t, srv.URL, "/add"))
	}
	status := func() *http.Response {
		t.Helper()
		resp, err := http.Post(srv.URL+"/add", "application/octet-stream", strings.NewReader("ok entry"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp := status()
		if resp.StatusCode == http.StatusServiceUnavailable {
			if resp.Header.Get("Retry-After") == "" {
				t.Errorf("503 headers: %v", resp.Header)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("2 held bodies and MaxBodies 2: a third is still read (%s)", resp.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
	held[0].Close()
	for status().StatusCode == http.StatusServiceUnavailable {
		if time.Now().After(deadline) {
			t.Fatal("a held body went, but /add still answers 503")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// holdBody starts a POST with a 65,535-byte body, sends all but its last
// byte, and leaves the connection open.
func holdBody(t *testing.T, url, path string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.Write([]byte("POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 65535\r\n\r\n" + strings.Repeat("o", 65534)))
	return c
}
