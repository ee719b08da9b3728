package mirror

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"ssms.dev/ssms/internal/slowhttp"
	"ssms.dev/ssms/manifest"
)

// TestAttackDirectoryMirrorLinks: a directory mirror that someone else
// can write links its bundle, its artifact or a whole product directory
// to a file only the updater can read, or puts a FIFO there. The client
// reads none of them (a report would carry the bytes), and a FIFO does
// not block it.
func TestAttackDirectoryMirrorLinks(t *testing.T) {
	secretDir := t.TempDir()
	secret := filepath.Join(secretDir, "1.1.0.bundle")
	if err := os.WriteFile(secret, []byte("TOPSECRET"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := manifest.DigestBytes([]byte("TOPSECRET"))
	tests := []struct {
		name string
		make func(dir string) error
	}{
		{"bundle linked", func(dir string) error {
			os.MkdirAll(filepath.Join(dir, "app"), 0o755)
			return os.Symlink(secret, filepath.Join(dir, "app", "1.1.0.bundle"))
		}},
		{"product directory linked", func(dir string) error { return os.Symlink(secretDir, filepath.Join(dir, "app")) }},
		{"artifact linked", func(dir string) error {
			os.MkdirAll(filepath.Join(dir, "sha256"), 0o755)
			return os.Symlink(secret, filepath.Join(dir, "sha256", d.SHA256))
		}},
		{"bundle is a FIFO", func(dir string) error {
			os.MkdirAll(filepath.Join(dir, "app"), 0o755)
			return syscall.Mkfifo(filepath.Join(dir, "app", "1.1.0.bundle"), 0o644)
		}},
		{"artifact is a FIFO", func(dir string) error {
			os.MkdirAll(filepath.Join(dir, "sha256"), 0o755)
			return syscall.Mkfifo(filepath.Join(dir, "sha256", d.SHA256), 0o644)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := tt.make(dir); err != nil {
				t.Fatal(err)
			}
			for _, base := range []string{dir, "file://" + dir} {
				c := &Client{Base: base}
				done := make(chan struct{})
				go func() {
					defer close(done)
					b, err := c.Bundle(context.Background(), "app", "1.1.0")
					if strings.Contains(string(b), "TOPSECRET") {
						t.Errorf("Bundle read the file behind the link: %q", b)
					}
					if err == nil {
						t.Errorf("Bundle succeeded")
					}
					if strings.Contains(tt.name, "bundle") && !errors.Is(err, ErrNotRegular) {
						t.Errorf("Bundle = %v; want ErrNotRegular", err)
					}
					if err != nil && strings.Contains(err.Error(), dir+"/") {
						t.Errorf("the error names the local path below the mirror: %v", err)
					}
					install := t.TempDir()
					_, err = c.Artifact(context.Background(), d, 9, install)
					if strings.Contains(tt.name, "artifact") && !errors.Is(err, ErrNotRegular) {
						t.Errorf("Artifact = %v; want ErrNotRegular", err)
					}
					noTemp(t, install)
				}()
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					t.Fatalf("the client hangs on %s", tt.name)
				}
			}
		})
	}
}

// TestAttackRedirectElsewhere: an HTTP mirror redirects to an address only
// the client can reach (a metadata service, an admin page on localhost).
// The client does not follow it; a redirect within the mirror's origin is
// followed.
func TestAttackRedirectElsewhere(t *testing.T) {
	var asked atomic.Int64
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		w.Write([]byte(`{"SecretAccessKey":"hunter2"}`))
	}))
	defer internal.Close()
	bundle := testBundle(t, "app", "1.1.0", map[string][]byte{"app": []byte("app")})
	var mux http.ServeMux
	mux.HandleFunc("/evil/app/1.1.0.bundle", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, internal.URL+"/latest/meta-data/", http.StatusFound)
	})
	mux.HandleFunc("/moved/app/1.1.0.bundle", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/good/app/1.1.0.bundle", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/good/app/1.1.0.bundle", func(w http.ResponseWriter, r *http.Request) { w.Write(bundle) })
	srv := httptest.NewServer(&mux)
	defer srv.Close()

	b, err := (&Client{Base: srv.URL + "/evil"}).Bundle(context.Background(), "app", "1.1.0")
	if !errors.Is(err, ErrRedirect) || b != nil {
		t.Errorf("a redirect to another origin: %q, %v; want ErrRedirect", b, err)
	}
	if asked.Load() != 0 {
		t.Errorf("the redirect's target was asked %d times", asked.Load())
	}
	// A caller's client that follows every redirect does not change that.
	lax := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}
	if _, err := (&Client{Base: srv.URL + "/evil", HTTP: lax}).Bundle(context.Background(), "app", "1.1.0"); !errors.Is(err, ErrRedirect) {
		t.Errorf("with the caller's HTTP client: %v; want ErrRedirect", err)
	}
	b, err = (&Client{Base: srv.URL + "/moved"}).Bundle(context.Background(), "app", "1.1.0")
	if err != nil || string(b) != string(bundle) {
		t.Errorf("a redirect within the mirror's origin: %d bytes, %v", len(b), err)
	}
}

// TestAttackSlowDrip: a mirror that sends a byte just inside the idle
// timeout, for ever, is cut off at the download's deadline (Allowance
// plus the size at MinRate), with no deadline from the caller.
func TestAttackSlowDrip(t *testing.T) {
	c := hostile(t, slowhttp.Trickle(50*time.Millisecond))
	c.Idle, c.Allowance, c.MinRate = 300*time.Millisecond, 500*time.Millisecond, 1<<30
	start := time.Now()
	if _, err := c.Bundle(context.Background(), "app", "1.1.0"); !errors.Is(err, ErrTooSlow) {
		t.Errorf("Bundle = %v; want ErrTooSlow", err)
	}
	dir := t.TempDir()
	if _, err := c.Artifact(context.Background(), manifest.DigestBytes([]byte("x")), 1<<20, dir); !errors.Is(err, ErrTooSlow) {
		t.Errorf("Artifact = %v; want ErrTooSlow", err)
	}
	noTemp(t, dir)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("two downloads with 0.5 s deadlines took %v", d)
	}
	if got := (&Client{}).Deadline(64 << 20); got != DefaultAllowance+1024*time.Second {
		t.Errorf("Deadline(64 MiB) = %v", got)
	}
}

// TestAttackMirrorScheme: --mirror file:///etc is the directory /etc, not
// a relative directory "file:"; another scheme is refused, not taken for
// a directory that is then reported as withholding the release.
func TestAttackMirrorScheme(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"file:///srv/mirror", "/srv/mirror", true},
		{"file://localhost/srv/mirror", "/srv/mirror", true},
		{"https://mirror.example/ssms", "https://mirror.example/ssms", true},
		{"HTTP://mirror.example", "HTTP://mirror.example", true},
		{"./mirror", "./mirror", true},
		{"mirror:with:colons", "mirror:with:colons", true},
		{"file://otherhost/srv", "", false},
		{"file:relative", "file:relative", true}, // no "//": a directory name
		{"ftp://mirror.example", "", false},
		{"s3://bucket/ssms", "", false},
		{"https://", "", false},
		{"https://mirror.example/?token=x", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, err := ParseBase(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("ParseBase(%q) = %q, %v; want %q, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrBase) {
			t.Errorf("ParseBase(%q): %v is not ErrBase", tt.in, err)
		}
	}
	if _, err := (&Client{Base: "ftp://mirror.example"}).Bundle(context.Background(), "app", "1.0.0"); !errors.Is(err, ErrBase) || errors.Is(err, ErrNotFound) {
		t.Errorf("Bundle from ftp:// = %v; want ErrBase", err)
	}
}

// TestRedact: a URL loses its credentials, query and fragment.
func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"https://alice:s3cret@mirror.example/ssms?token=abc#x": "https://mirror.example/ssms",
		"http://alice@mirror.example:8080/":                    "http://mirror.example:8080/",
		"/home/alice/mirror":                                   "/home/alice/mirror",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q; want %q", in, got, want)
		}
	}
	err := &Error{Mirror: "https://alice:s3cret@mirror.example", Path: "app/1.0.0.bundle", Err: ErrNotFound}
	if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "alice") {
		t.Errorf("the error names the credentials: %v", err)
	}
}
