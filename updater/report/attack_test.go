package report

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestAttackSubmitRedirect: an endpoint (or whoever answers for it)
// redirects the POST, 307 to keep the body, to another host. Nothing is
// posted there, and the error says where it pointed.
func TestAttackSubmitRedirect(t *testing.T) {
	var got atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got.Add(1) }))
	defer other.Close()
	for _, code := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect, http.StatusFound} {
		endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/collect?k=secret", code)
		}))
		err := Submit(context.Background(), endpoint.URL, sample())
		endpoint.Close()
		if err == nil || !strings.Contains(err.Error(), other.URL) || strings.Contains(err.Error(), "secret") {
			t.Errorf("%d: Submit = %v; want an error naming the target without its query", code, err)
		}
	}
	if got.Load() != 0 {
		t.Errorf("the report was posted %d times to where the redirects pointed", got.Load())
	}
}

// TestAttackReportsPruned: run after run of refusals keep at most MaxKept
// reports, the oldest removed first, and never the one just written.
func TestAttackReportsPruned(t *testing.T) {
	state := t.TempDir()
	dir := filepath.Join(state, Dir)
	base := time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)
	var first, last string
	for i := 0; i < MaxKept+20; i++ {
		r := sample()
		r.Time = base.Add(time.Duration(i) * time.Second).Format(time.RFC3339)
		p, err := Save(state, r)
		if err != nil {
			t.Fatal(err)
		}
		// Modification times may tie within the file system's resolution:
		// set them apart as the hours between runs would.
		mt := base.Add(time.Duration(i) * time.Minute)
		os.Chtimes(p, mt, mt)
		if i == 0 {
			first = p
		}
		last = p
	}
	other := filepath.Join(dir, "notes.txt")
	os.WriteFile(other, []byte("not a report"), 0o600)
	if _, err := Save(state, sample()); err != nil { // older time, written last: kept
		t.Fatal(err)
	}
	l, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(l) != MaxKept {
		t.Errorf("%d reports kept; want %d", len(l), MaxKept)
	}
	for _, p := range []string{last, other} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed: %v", filepath.Base(p), err)
		}
	}
	if _, err := os.Stat(first); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the oldest report %s is still there", filepath.Base(first))
	}
}

// TestAttackScrub: credentials and queries in URLs, wherever they appear
// in a report's text, are removed.
func TestAttackScrub(t *testing.T) {
	for in, want := range map[string]string{
		`mirror https://alice:s3cret@m.example/ssms: app/1.1.0.bundle: Get "https://alice:***@m.example/ssms/app/1.1.0.bundle?sig=XYZ": EOF`: `mirror https://m.example/ssms: app/1.1.0.bundle: Get "https://m.example/ssms/app/1.1.0.bundle": EOF`,
		"http://bob@log.example:8080/checkpoint#frag": "http://log.example:8080/checkpoint",
		"no url: a@b and ?x":                          "no url: a@b and ?x",
	} {
		if got := Scrub(in); got != want {
			t.Errorf("Scrub(%q)\n = %q\nwant %q", in, got, want)
		}
	}
}
