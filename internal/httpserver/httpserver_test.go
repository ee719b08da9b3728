package httpserver

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// short are limits a test can wait out.
var short = Limits{ReadHeader: 200 * time.Millisecond, Read: 400 * time.Millisecond,
	Write: time.Second, Idle: 300 * time.Millisecond, MaxHeaderBytes: 4 << 10}

func start(t *testing.T, l Limits) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok\n")
	})
	go func() { done <- l.Serve(ctx, l.New(h), ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// TestAttackHalfOpenConnections holds connections open the way a slowloris
// does: saying nothing, stopping within the headers, stopping within the
// body, and idling after a response. The server must close every one of
// them within its limits.
func TestAttackHalfOpenConnections(t *testing.T) {
	addr := start(t, short)
	opening := map[string]string{
		"silent":         "",
		"partial header": "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ",
		"partial body":   "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nsome",
		"idle":           "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
	}
	const each = 50 / 4
	start := time.Now()
	var wg sync.WaitGroup
	for name, send := range opening {
		for range each {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, send); err != nil {
				t.Fatal(err)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Read until the server closes; the deadline only ends a
				// test that would otherwise hang.
				conn.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, err := io.Copy(io.Discard, conn)
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Errorf("%s connection still open after 5s", name)
				}
			}()
		}
	}
	wg.Wait()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("connections closed after %v, want within the limits (< 2s)", d)
	}
}

// TestMaxHeaderBytes refuses headers over the limit.
func TestMaxHeaderBytes(t *testing.T) {
	addr := start(t, short)
	req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 8<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("8 KiB header over a 4 KiB limit: %d, want 431", resp.StatusCode)
	}
}

// TestDefaultBoundsEveryPhase fails if a limit of Default is removed: a zero
// means no limit to net/http.
func TestDefaultBoundsEveryPhase(t *testing.T) {
	srv := New(http.NotFoundHandler())
	for name, v := range map[string]time.Duration{
		"ReadHeaderTimeout": srv.ReadHeaderTimeout, "ReadTimeout": srv.ReadTimeout,
		"WriteTimeout": srv.WriteTimeout, "IdleTimeout": srv.IdleTimeout,
	} {
		if v <= 0 {
			t.Errorf("%s = %v: unbounded", name, v)
		}
	}
	if srv.MaxHeaderBytes <= 0 || srv.MaxHeaderBytes > 64<<10 {
		t.Errorf("MaxHeaderBytes = %d", srv.MaxHeaderBytes)
	}
}
