package mirror

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ssms.dev/ssms/manifest"
)

// filled is a mirror directory holding app 1.0.0 with its artifact.
func filled(t testing.TB, app []byte) (dir string, bundle []byte) {
	t.Helper()
	dir = t.TempDir()
	bundle = testBundle(t, "app", "1.0.0", map[string][]byte{"app": app})
	if _, err := Add(dir, bundle, writeFiles(t, t.TempDir(), map[string][]byte{"app": app})); err != nil {
		t.Fatal(err)
	}
	return dir, bundle
}

// TestRoundTrip: add, serve (and a plain directory), fetch.
func TestRoundTrip(t *testing.T) {
	app := bytes.Repeat([]byte("app version 1.0.0\n"), 100000)
	dir, bundle := filled(t, app)
	srv := httptest.NewServer(Handler(dir))
	defer srv.Close()
	for _, base := range []string{srv.URL, srv.URL + "/", dir} {
		t.Run(base, func(t *testing.T) {
			c := &Client{Base: base}
			ctx := context.Background()
			v, err := c.Latest(ctx, "app")
			if err != nil || v != "1.0.0" {
				t.Fatalf("Latest = %q, %v", v, err)
			}
			b, err := c.Bundle(ctx, "app", v)
			if err != nil || !bytes.Equal(b, bundle) {
				t.Fatalf("Bundle = %d bytes, %v", len(b), err)
			}
			install := t.TempDir()
			p, err := c.Artifact(ctx, manifest.DigestBytes(app), int64(len(app)), install)
			if err != nil {
				t.Fatal(err)
			}
			if filepath.Dir(p) != install {
				t.Errorf("the download is in %s, not in the install directory %s", p, install)
			}
			if got, _ := os.ReadFile(p); !bytes.Equal(got, app) {
				t.Errorf("downloaded %d bytes, not the artifact", len(got))
			}
			if _, err := c.Bundle(ctx, "app", "9.9.9"); !errors.Is(err, ErrNotFound) {
				t.Errorf("Bundle of a missing version = %v; want ErrNotFound", err)
			}
		})
	}
}

func TestServeHeaders(t *testing.T) {
	app := []byte("app")
	dir, _ := filled(t, app)
	srv := httptest.NewServer(Handler(dir))
	defer srv.Close()
	tests := []struct {
		method, path string
		status       int
		cache        string
	}{
		{"GET", "/app/latest", 200, CacheLatest},
		{"GET", "/app/1.0.0.bundle", 200, CacheImmutable},
		{"HEAD", "/sha256/" + manifest.DigestBytes(app).SHA256, 200, CacheImmutable},
		{"GET", "/sha256/" + strings.Repeat("0", 64), 404, ""},
		{"GET", "/", 404, ""},
		{"GET", "/app/", 404, ""},
		{"GET", "/sha256/", 404, ""},
		{"GET", "/app", 404, ""},
		{"POST", "/app/latest", 405, ""},
		{"PUT", "/app/1.0.0.bundle", 405, ""},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status || resp.Header.Get("Cache-Control") != tt.cache {
			t.Errorf("%s %s = %d, Cache-Control %q; want %d, %q", tt.method, tt.path, resp.StatusCode, resp.Header.Get("Cache-Control"), tt.status, tt.cache)
		}
	}
}
