package explorer

import (
	"fmt"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/monitor"
	"ssms.dev/ssms/policies"
)

// BenchmarkPages renders each page, and its JSON, on an explorer whose
// index holds SSMS_BENCH_EXPLORER_ENTRIES entries (default 100,000: the
// budget is 50 ms a page): releases of three products, each with two
// rebuild attestations (one in twenty a mismatch), and one alert every
// hundred entries. The index is made directly, as the monitor's passes
// would have committed it: rendering reads nothing else.
func BenchmarkPages(b *testing.B) {
	n := 100_000
	if v := os.Getenv("SSMS_BENCH_EXPLORER_ENTRIES"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	s := newScenario(b)
	ex := s.ex
	ex.m = newModel(s.pol)
	if err := ex.m.add(benchFacts(n)); err != nil {
		b.Fatal(err)
	}
	saved, _ := monitor.ReadSaved(s.mon.Dir)
	if err := ex.m.setCheckpoint(saved.Checkpoint, s.client.VKey, ex.cfg.Now()); err != nil {
		b.Fatal(err)
	}
	h := ex.Handler()
	mid := ex.m.products["app"].releases[len(ex.m.products["app"].releases)/2]
	deep := len(ex.m.products["app"].releases)/PerPage - 1
	for _, path := range []string{
		"/", "/log", "/products/app", fmt.Sprintf("/products/app?page=%d", deep), fmt.Sprintf("/releases/%d", mid.Index),
		"/alerts", fmt.Sprintf("/alerts?page=%d", len(ex.m.alerts)/PerPage), "/policies", "/reports",
		"/lookup?digest=sha256:" + mid.Subjects[0].Digest.SHA256, "/lookup?digest=sha256:" + fmt.Sprintf("%064x", 0),
		"/api/log", "/api/products", "/api/products/app", "/api/alerts", "/api/lookup?digest=sha256:" + mid.Subjects[0].Digest.SHA256,
	} {
		b.Run(path, func(b *testing.B) {
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
				if rec.Code != 200 {
					b.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
				}
			}
		})
	}
}

// benchFacts is one pass over n entries.
func benchFacts(n int) monitor.Facts {
	f := monitor.Facts{Pass: monitor.IndexedPass{From: 0, To: int64(n), Time: "2026-11-27T00:00:00Z"}}
	products := []string{"app", "tool", "lib"}
	seq := map[string]uint64{}
	var last monitor.IndexedRelease
	for i := int64(0); i < int64(n); i++ {
		switch {
		case i%100 == 99:
			f.Findings = append(f.Findings, monitor.Finding{Kind: monitor.KindBadEntry, Index: i, Message: fmt.Sprintf("entry %d: not a release", i)})
		case i%3 != 0 && last.Ref != "": // two attestations after each release
			subjects := last.Subjects
			if i%60 == 1 {
				subjects = []manifest.Subject{manifest.SizedSubject("bin", manifest.DigestBytes([]byte{byte(i)}), 1)}
			}
			f.Rebuilds = append(f.Rebuilds, monitor.IndexedRebuild{Index: i, Release: last.Ref, Product: last.Product, Version: last.Version,
				Builder: fmt.Sprintf("r%d", i%3), KeyID: fmt.Sprintf("k%d", i%3), Outcome: manifest.OutcomeReproduced, Subjects: subjects})
		default:
			p := products[i%9/3]
			seq[p]++
			d := manifest.DigestBytes([]byte(fmt.Sprint(i)))
			last = monitor.IndexedRelease{Index: i, Ref: policies.ReleaseRef([]byte(fmt.Sprint(i))), Product: p,
				Version: fmt.Sprintf("1.%d.0", seq[p]), Sequence: seq[p], Type: manifest.TypeRelease, Released: "2026-11-27T00:00:00Z",
				Source:   manifest.Source{URI: "https://example.org/" + p + ".git", Commit: fmt.Sprintf("%040x", i)},
				Subjects: []manifest.Subject{manifest.SizedSubject("bin", d, 1<<20)}, Signers: []string{"alice", "bob"}, Need: 2, Policy: 1}
			f.Releases = append(f.Releases, last)
		}
	}
	return f
}
