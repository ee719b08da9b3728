package mirror

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ssms.dev/ssms/internal/slowhttp"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/verifier"
)

// hostile is a mirror that answers every request with h.
func hostile(t *testing.T, h http.HandlerFunc) *Client {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &Client{Base: srv.URL}
}

// endless writes zeros until the client goes away, counting them.
func endless(sent *atomic.Int64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 64<<10)
		for {
			n, err := w.Write(buf)
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	}
}

// TestAttackEndlessArtifact: an endless stream is cut off one byte past
// the signed size, leaves no file, and costs no memory beyond buffers.
func TestAttackEndlessArtifact(t *testing.T) {
	var sent atomic.Int64
	c := hostile(t, endless(&sent))
	const size = 64 << 20
	dir := t.TempDir()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := c.Artifact(context.Background(), manifest.DigestBytes(nil), size, dir)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLong) {
		t.Fatalf("Artifact = %v; want ErrTooLong", err)
	}
	if !strings.Contains(err.Error(), "mirror "+c.Base) {
		t.Errorf("the error %q does not name the mirror", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("downloading a %d-byte artifact from an endless stream allocated %d bytes", size, alloc)
	}
	noTemp(t, dir)
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		t.Errorf("%d files left in the install directory", len(entries))
	}
}

// TestAttackWrongArtifact: a shorter stream, or other bytes of the right
// size, leave no file.
func TestAttackWrongArtifact(t *testing.T) {
	app := bytes.Repeat([]byte("A"), 1<<20)
	d := manifest.DigestBytes(app)
	tests := []struct {
		name string
		body []byte
		want error
	}{
		{"shorter", app[:len(app)-1], ErrTooShort},
		{"empty", nil, ErrTooShort},
		{"other bytes", bytes.Repeat([]byte("B"), len(app)), ErrDigest},
		{"one byte longer", append(append([]byte{}, app...), 'A'), ErrTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := hostile(t, func(w http.ResponseWriter, r *http.Request) { w.Write(tt.body) })
			dir := t.TempDir()
			p, err := c.Artifact(context.Background(), d, int64(len(app)), dir)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Artifact = %q, %v; want %v", p, err, tt.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) > 0 {
				t.Errorf("%d files left in the install directory", len(entries))
			}
		})
	}
}

// TestAttackAnnouncedLength: a download whose announced length is over
// its cap is refused before its body is read.
func TestAttackAnnouncedLength(t *testing.T) {
	c := hostile(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1099511627776")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	c.Idle = 5 * time.Second
	dir := t.TempDir()
	start := time.Now()
	if _, err := c.Artifact(context.Background(), manifest.DigestBytes(nil), 1<<20, dir); !errors.Is(err, ErrTooLong) || !strings.Contains(err.Error(), "announces") {
		t.Errorf("Artifact = %v; want ErrTooLong for the announced length", err)
	}
	if _, err := c.Bundle(context.Background(), "app", "1.0.0"); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Bundle = %v; want ErrTooLarge", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v: the body was waited for", d)
	}
	noTemp(t, dir)
}

// TestAttackOversized: a bundle or a latest hint over its cap is refused
// after reading one byte past it.
func TestAttackOversized(t *testing.T) {
	var sent atomic.Int64
	c := hostile(t, endless(&sent))
	ctx := context.Background()
	if _, err := c.Bundle(ctx, "app", "1.0.0"); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Bundle from an endless stream = %v; want ErrTooLarge", err)
	}
	if _, err := c.Latest(ctx, "app"); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Latest from an endless stream = %v; want ErrTooLarge", err)
	}
	big := hostile(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte("1"), verifier.MaxBundleSize+1))
	})
	if _, err := big.Bundle(ctx, "app", "1.0.0"); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Bundle of MaxBundleSize+1 bytes = %v; want ErrTooLarge", err)
	}
	long := hostile(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("1.0.0-" + strings.Repeat("a", MaxLatestSize) + "\n"))
	})
	if _, err := long.Latest(ctx, "app"); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Latest of %d bytes = %v; want ErrTooLarge", MaxLatestSize+8, err)
	}
	junk := hostile(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("../../etc/passwd\n")) })
	if _, err := junk.Latest(ctx, "app"); !errors.Is(err, ErrLatest) {
		t.Errorf("Latest of a path = %v; want ErrLatest", err)
	}
}

// TestAttackTraversalClient: the client asks for no name outside the
// layout, whatever product, version or digest it is given.
func TestAttackTraversalClient(t *testing.T) {
	var asked atomic.Int64
	c := hostile(t, func(w http.ResponseWriter, r *http.Request) { asked.Add(1) })
	ctx := context.Background()
	for _, product := range []string{"../etc", "app/..", "", "App", "a/b", "%2e%2e"} {
		if _, err := c.Latest(ctx, product); !errors.Is(err, ErrName) {
			t.Errorf("Latest(%q) = %v; want ErrName", product, err)
		}
	}
	for _, version := range []string{"../../x", "1.0.0/../../x", "v1.0.0", "1.0", ".."} {
		if _, err := c.Bundle(ctx, "app", version); !errors.Is(err, ErrName) {
			t.Errorf("Bundle(app, %q) = %v; want ErrName", version, err)
		}
	}
	for _, hex := range []string{"../../../etc/passwd", strings.Repeat("a", 63), strings.Repeat("A", 64), ""} {
		if _, err := c.Artifact(ctx, manifest.Digest{SHA256: hex}, 1, t.TempDir()); !errors.Is(err, ErrName) {
			t.Errorf("Artifact(%q) = %v; want ErrName", hex, err)
		}
	}
	if n := asked.Load(); n != 0 {
		t.Errorf("the client sent %d requests for bad names", n)
	}
}

// TestAttackTraversalServer: the server reads nothing outside the layout
// of its directory, however the path is spelled.
func TestAttackTraversalServer(t *testing.T) {
	parent := t.TempDir()
	os.WriteFile(filepath.Join(parent, "secret"), []byte("secret"), 0o644)
	dir := filepath.Join(parent, "mirror")
	os.MkdirAll(filepath.Join(dir, "app"), 0o755)
	os.WriteFile(filepath.Join(dir, "app", "notes.txt"), []byte("secret"), 0o644)
	os.Symlink(filepath.Join(parent, "secret"), filepath.Join(dir, "app", "latest"))
	os.Mkdir(filepath.Join(dir, "app", "2.0.0.bundle"), 0o755)
	srv := httptest.NewServer(Handler(dir))
	defer srv.Close()
	for _, path := range []string{
		"/../secret", "/app/../../secret", "/%2e%2e/secret", "/app/%2e%2e%2fsecret", "/app/..%2f..%2fsecret",
		"/sha256/..%2f..%2fsecret", "/app/notes.txt", "/app/latest", "/app/2.0.0.bundle", "/app/", "/sha256/",
		"/..%2fsecret/latest", "//secret", "/app//latest",
	} {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		// Raw, so that no client cleans the path first.
		io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		resp, _ := io.ReadAll(conn)
		conn.Close()
		status, _, _ := strings.Cut(string(resp), "\r\n")
		if bytes.Contains(resp, []byte("secret\n")) || bytes.HasSuffix(resp, []byte("\r\n\r\nsecret")) || !(strings.Contains(status, " 400 ") || strings.Contains(status, " 404 ")) {
			t.Errorf("GET %s: %q", path, resp)
		}
	}
}

// TestAttackSlowLoris: a mirror that stops sending (before its headers or
// in the body) is given up after the client's Idle; one that trickles
// forever is stopped by the caller's deadline.
func TestAttackSlowLoris(t *testing.T) {
	tests := []struct {
		name string
		h    http.HandlerFunc
		want error
	}{
		{"no headers", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, ErrIdle},
		{"stalled body", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("12345"))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}, ErrIdle},
		{"trickle", slowhttp.Trickle(20 * time.Millisecond), context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := hostile(t, tt.h)
			c.Idle = 200 * time.Millisecond
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			start := time.Now()
			dir := t.TempDir()
			_, err := c.Artifact(ctx, manifest.DigestBytes([]byte("x")), 1<<20, dir)
			if !errors.Is(err, tt.want) {
				t.Errorf("Artifact = %v; want %v", err, tt.want)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("gave up after %v", d)
			}
			noTemp(t, dir)
			if _, err := c.Bundle(ctx, "app", "1.0.0"); err == nil {
				t.Errorf("Bundle from a slow mirror succeeded")
			}
		})
	}
}
