package mirror

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// Cache lifetimes: what is named by its digest, or by its version, does
// not change; the latest hint does, so caches keep it only briefly.
const (
	CacheImmutable = "public, max-age=31536000, immutable"
	CacheLatest    = "public, max-age=60"
)

// Handler serves the mirror in dir read-only: GET and HEAD of the
// layout's paths, and nothing else. A path of no layout shape is 404, a
// layout path with a bad name 400, a missing file or anything but a
// regular file (a directory, a symbolic link) 404; no directory is ever
// listed.
func Handler(dir string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		k, err := parsePath(strings.TrimPrefix(r.URL.Path, "/"))
		if status := pathStatus(k, err); status != http.StatusOK {
			http.Error(w, http.StatusText(status), status)
			return
		}
		serveFile(w, r, filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(r.URL.Path, "/"))), k)
	})
}

// pathStatus is the one place that maps a path's check to a status.
func pathStatus(k kind, err error) int {
	switch {
	case errors.Is(err, ErrName):
		return http.StatusBadRequest
	case err != nil, k == kindNone:
		return http.StatusNotFound
	}
	return http.StatusOK
}

func serveFile(w http.ResponseWriter, r *http.Request, path string, k kind) {
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	switch k {
	case kindLatest:
		h.Set("Cache-Control", CacheLatest)
		h.Set("Content-Type", "text/plain; charset=utf-8")
	case kindBundle:
		h.Set("Cache-Control", CacheImmutable)
		h.Set("Content-Type", "application/vnd.ssms.bundle.v1+json")
	default:
		h.Set("Cache-Control", CacheImmutable)
		h.Set("Content-Type", "application/octet-stream")
	}
	http.ServeContent(w, r, "", fi.ModTime(), f)
}
