package witness

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestAttackHeldBodies: clients that send all but the last byte of an
// add-checkpoint body and wait hold at most MaxBodies bodies being read;
// the next request is answered 503 with Retry-After before its body is
// read, and once a held body goes the witness reads again.
func TestAttackHeldBodies(t *testing.T) {
	log := newLog(t, "log.example")
	c, _ := newCosigner(t, "w1")
	w, err := New(t.TempDir(), c, []string{log.vkey})
	if err != nil {
		t.Fatal(err)
	}
	w.MaxBodies = 2
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(srv.Close)
	var held []net.Conn
	for range 2 {
		conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		conn.Write([]byte("POST /add-checkpoint HTTP/1.1\r\nHost: x\r\nContent-Length: 19000\r\n\r\n" + strings.Repeat("o", 18999)))
		held = append(held, conn)
	}
	body := string(request(0, nil, log.grow(t, 1).Raw))
	post := func() *http.Response {
		t.Helper()
		resp, err := http.Post(srv.URL+"/add-checkpoint", "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp := post()
		if resp.StatusCode == http.StatusServiceUnavailable {
			if resp.Header.Get("Retry-After") == "" {
				t.Errorf("503 without Retry-After: %v", resp.Header)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("2 held bodies and MaxBodies 2: a third is still read (%s)", resp.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
	held[0].Close()
	for post().StatusCode == http.StatusServiceUnavailable {
		if time.Now().After(deadline) {
			t.Fatal("a held body went, but add-checkpoint still answers 503")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
