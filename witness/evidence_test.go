package witness

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// TestAttackForkEvidenceLost: a log forks from size 1 (a power of two, so
// its proof cannot show the fork) to sizes 5 and 6 and does not serve its
// tiles to the witness. The witness, given the log's URL, must still keep
// the .incomplete evidence, written before it answers; a failed completion
// is a warning and leaves it; a fork seen while a completion runs is kept.
func TestAttackForkEvidenceLost(t *testing.T) {
	log := newLog(t, "log.example")
	cp := log.grow(t, 1)
	fork5, fork6 := forkOf(t, log, 5), forkOf(t, log, 6)
	release := make(chan struct{})
	asked := make(chan struct{}, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		asked <- struct{}{}
		<-release // a slow log, then one that does not serve its tiles
		http.NotFound(rw, r)
	}))
	defer srv.Close()
	c, _ := newCosigner(t, "w1")
	dir := t.TempDir()
	w, err := New(dir, c, []string{log.vkey + "=" + srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var warnings []string
	w.Warn = func(m string) { mu.Lock(); warnings = append(warnings, m); mu.Unlock() }
	if _, err := w.AddCheckpoint(request(0, nil, cp.Raw)); err != nil {
		t.Fatal(err)
	}
	incomplete := func() []string {
		f, _ := filepath.Glob(filepath.Join(dir, "evidence", "*.incomplete"))
		return f
	}
	if _, err := w.AddCheckpoint(request(1, []tlog.Hash{{1}}, fork5.Raw)); !errors.Is(err, ErrBadProof) {
		t.Fatalf("fork to 5: %v", err)
	}
	if f := incomplete(); len(f) != 1 {
		t.Fatalf("answered before keeping evidence: %v", f)
	}
	<-asked // the completion of the first fork is running
	if _, err := w.AddCheckpoint(request(1, []tlog.Hash{{2}}, fork6.Raw)); !errors.Is(err, ErrBadProof) {
		t.Fatalf("fork to 6: %v", err)
	}
	if f := incomplete(); len(f) != 2 {
		t.Fatalf("a fork seen during a completion was not kept: %v", f)
	}
	close(release)
	w.pending.Wait()
	if f := incomplete(); len(f) != 2 {
		t.Fatalf("failed completions left %v", f)
	}
	mu.Lock()
	defer mu.Unlock()
	failed := 0
	for _, m := range warnings {
		if strings.Contains(m, "could not complete the evidence") {
			failed++
		}
	}
	if failed != 2 {
		t.Errorf("warnings %q, want two failed completions", warnings)
	}
}

// TestAttackEvidenceSpam: an outsider holding checkpoints an honest log
// signed, newer than the witness's, sends each with a garbage proof, many
// times. A witness without the log's URL cannot tell that from a fork;
// it keeps one .incomplete file per pair of checkpoints, at most
// MaxIncomplete in all, and warns once when full.
func TestAttackEvidenceSpam(t *testing.T) {
	log := newLog(t, "log.example")
	c, _ := newCosigner(t, "w1")
	dir := t.TempDir()
	w, err := New(dir, c, []string{log.vkey})
	if err != nil {
		t.Fatal(err)
	}
	var warnings []string
	w.Warn = func(m string) { warnings = append(warnings, m) }
	if _, err := w.AddCheckpoint(request(0, nil, log.grow(t, 3).Raw)); err != nil {
		t.Fatal(err)
	}
	for range 2 * MaxIncomplete {
		newer := log.grow(t, 1)
		for range 3 {
			if _, err := w.AddCheckpoint(request(3, []tlog.Hash{{1}, {2}}, newer.Raw)); !errors.Is(err, ErrBadProof) {
				t.Fatalf("garbage proof: %v", err)
			}
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "evidence", "*"))
	if len(files) != MaxIncomplete {
		t.Errorf("%d evidence files, want %d", len(files), MaxIncomplete)
	}
	full := 0
	for _, m := range warnings {
		if strings.Contains(m, "kept already") {
			full++
		}
	}
	if len(warnings) != MaxIncomplete+1 || full != 1 {
		t.Errorf("%d warnings (%d about being full), want %d and 1", len(warnings), full, MaxIncomplete+1)
	}
}
