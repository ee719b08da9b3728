package explorer

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/monitor"
	"ssms.dev/ssms/policies"
)

// Outside review M4: lists that grow with what the log holds must not
// make one page cost more than the budget (50 ms, well under 1 MB).

// withFacts replaces the scenario's model by one built from f.
func withFacts(t *testing.T, s *scenario, f monitor.Facts) http.Handler {
	s.ex.m = newModel(s.pol)
	if err := s.ex.m.add(f); err != nil {
		t.Fatal(err)
	}
	return s.ex.Handler()
}

// withinBudget fetches path three times and fails if even the fastest
// took over 50 ms or the answer is over 256 KiB: a loaded machine may
// slow one run, not all three.
func withinBudget(t *testing.T, h http.Handler, path string) string {
	t.Helper()
	best := time.Hour
	var rec *httptest.ResponseRecorder
	for range 3 {
		start := time.Now()
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		best = min(best, time.Since(start))
	}
	t.Logf("%s: %d, %d bytes, %v", path, rec.Code, rec.Body.Len(), best)
	if rec.Code != http.StatusOK || best > 50*time.Millisecond || rec.Body.Len() > 256<<10 {
		t.Errorf("%s: %d, %d bytes in %v: over the budget (50 ms, 256 KiB)", path, rec.Code, rec.Body.Len(), best)
	}
	return rec.Body.String()
}

func sameDigestReleases(n int) (monitor.Facts, manifest.Digest) {
	f := monitor.Facts{Pass: monitor.IndexedPass{From: 0, To: int64(n), Time: "2026-11-27T00:00:00Z"}}
	d := manifest.DigestBytes([]byte("same"))
	for i := int64(0); i < int64(n); i++ {
		f.Releases = append(f.Releases, monitor.IndexedRelease{Index: i, Ref: policies.ReleaseRef([]byte(fmt.Sprint(i))), Product: "app",
			Version: fmt.Sprintf("1.%d.0", i), Sequence: uint64(i + 1), Type: manifest.TypeRelease, Released: "2026-11-27T00:00:00Z",
			Source:   manifest.Source{URI: "https://example.org/app.git", Commit: fmt.Sprintf("%040x", i)},
			Subjects: []manifest.Subject{manifest.SizedSubject("bin", d, 1)}, Signers: []string{"alice", "bob"}, Need: 2, Policy: 1})
	}
	return f, d
}

// TestAttackLookupOfACommonDigest: 20,000 releases share one artifact
// digest (the same binary re-released, or on purpose). The lookup lists
// them 50 a page, with the total, and every page holds what it should.
func TestAttackLookupOfACommonDigest(t *testing.T) {
	s := newScenario(t)
	f, d := sameDigestReleases(20_000)
	h := withFacts(t, s, f)
	q := "?digest=sha256:" + d.SHA256
	page := withinBudget(t, h, "/lookup"+q)
	if !strings.Contains(page, "artifact of 20000 verified release(s)") || !strings.Contains(page, "Page 1 of 400") ||
		!strings.Contains(page, `href="?digest=sha256%3a`+d.SHA256+`&amp;page=2"`) {
		t.Errorf("the lookup page should say the total and link the next page")
	}
	withinBudget(t, h, "/lookup"+q+"&page=400")
	withinBudget(t, h, "/api/lookup"+q)
	last := getJSON[lookupView](t, h, "/api/lookup"+q+"&page=400")
	if last.Total != 20_000 || last.Pages != 400 || len(last.Releases) != 50 || last.Releases[49].Index != 19_999 || last.Releases[0].Index != 19_950 {
		t.Errorf("last page: total %d, pages %d, %d releases", last.Total, last.Pages, len(last.Releases))
	}
	if code, _ := get(t, h, "/api/lookup"+q+"&page=401"); code != http.StatusBadRequest {
		t.Errorf("a page past the end: %d, want 400", code)
	}
}

// TestAttackManyRebuildsFromOneKey: one rebuilder key logs 50,000
// mismatching attestations of a release (and one that matches). The
// release and product pages show one line for the key, with its counts
// and its first and last mismatch; every attestation is on the paginated
// detail pages.
func TestAttackManyRebuildsFromOneKey(t *testing.T) {
	s := newScenario(t)
	f, _ := sameDigestReleases(1)
	rel := f.Releases[0]
	for i := int64(1); i <= 50_001; i++ {
		subject := manifest.DigestBytes([]byte(fmt.Sprint(i)))
		if i == 2 {
			subject = rel.Subjects[0].Digest
		}
		f.Rebuilds = append(f.Rebuilds, monitor.IndexedRebuild{Index: i, Release: rel.Ref, Product: "app", Version: rel.Version,
			Builder: "r1", KeyID: "k1", Outcome: manifest.OutcomeReproduced, Subjects: []manifest.Subject{manifest.SizedSubject("bin", subject, 1)}})
	}
	h := withFacts(t, s, f)
	for _, p := range []string{"/releases/0", "/products/app", "/api/products/app", "/api/releases/0", "/releases/0/rebuilds", "/api/releases/0/rebuilds?page=1001"} {
		withinBudget(t, h, p)
	}
	v := getJSON[releaseView](t, h, "/api/releases/0")
	rb := v.Rebuilds
	if rb.Status != RebuildsMismatch || rb.Total != 50_001 || len(rb.ByKey) != 1 || rb.ByKey[0].Matching != 1 || rb.ByKey[0].Mismatching != 50_000 ||
		rb.ByKey[0].FirstMismatch.Index != 1 || rb.ByKey[0].LastMismatch.Index != 50_001 || len(rb.Mismatched) != 2 || strings.Join(rb.Matched, ",") != "r1" {
		t.Errorf("rebuilds summary: %+v", rb)
	}
	if _, page := get(t, h, "/releases/0"); !strings.Contains(page, "rebuild by r1 does not match (50000 attestation(s), and 1 that match)") ||
		!strings.Contains(page, `href="/releases/0/rebuilds">every attestation (50001)`) {
		t.Errorf("the release page should sum the key up and link every attestation")
	}
	last := getJSON[attestationsView](t, h, "/api/releases/0/rebuilds?page=1001")
	if last.Total != 50_001 || len(last.Rebuilds) != 1 || last.Rebuilds[0].Index != 1 || last.Rebuilds[0].Matches {
		t.Errorf("the oldest attestation on the last page: %+v", last)
	}
	first := getJSON[attestationsView](t, h, "/api/releases/0/rebuilds")
	if len(first.Rebuilds) != PerPage || first.Rebuilds[0].Index != 50_001 {
		t.Errorf("the newest attestations first: %+v", first.Rebuilds[0])
	}
}

// TestAttackStaticListing: /static/ serves its named files, never a
// listing of the directory (outside review L7).
func TestAttackStaticListing(t *testing.T) {
	h := newScenario(t).ex.Handler()
	for _, p := range []string{"/static/", "/static", "/static/.", "/static/..%2fexplorer.go", "/static/nothing.css"} {
		if code, body := get(t, h, p); code == http.StatusOK || strings.Contains(body, "style.css") {
			t.Errorf("%s: %d %q", p, code, body)
		}
	}
	for _, p := range []string{"/static/style.css", "/static/lookup.js"} {
		if code, _ := get(t, h, p); code != http.StatusOK {
			t.Errorf("%s: %d", p, code)
		}
	}
}
