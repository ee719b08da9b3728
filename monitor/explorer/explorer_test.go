package explorer

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"ssms.dev/ssms/translog"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b)
}

func getJSON[T any](t *testing.T, h http.Handler, path string) T {
	t.Helper()
	code, body := get(t, h, path)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, code, body)
	}
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return v
}

// TestAPIShowsVerifiedState: what the monitor verified, and only that,
// is in /api/: releases with signers and rebuild status, the alerts, the
// witnesses, the lookup.
func TestAPIShowsVerifiedState(t *testing.T) {
	s := newScenario(t)
	s.forkNow()
	h := s.ex.Handler()

	p := getJSON[productView](t, h, "/api/products/app")
	if p.Total != 2 || len(p.Releases) != 2 {
		t.Fatalf("app: %d releases, want 1.0.0 and 1.1.0 (1.2.0 lacks a signature)", p.Total)
	}
	r11, r10 := p.Releases[0], p.Releases[1]
	if r10.Version != "1.0.0" || strings.Join(r10.Signers, ",") != "alice,bob" || r10.Rebuilds.Status != RebuildsReproduced ||
		strings.Join(r10.Rebuilds.Matched, ",") != "r1,r2" || r10.Index != 1 {
		t.Errorf("1.0.0: %+v", r10)
	}
	if r11.Version != "1.1.0" || r11.Rebuilds.Status != RebuildsMismatch || len(r11.Rebuilds.Mismatched) != 1 ||
		r11.Rebuilds.Mismatched[0].Builder != "r1" || r11.Source.URI != hostileURI {
		t.Errorf("1.1.0: %+v", r11)
	}

	a := getJSON[alertsView](t, h, "/api/alerts")
	var kinds []string
	var evidence string
	for _, x := range a.Alerts {
		kinds = append(kinds, x.Kind)
		if x.Evidence != "" {
			evidence = x.Evidence
		}
	}
	if got, want := strings.Join(kinds, " "), "inconsistent-log below-threshold bad-entry bad-attestation"; got != want {
		t.Errorf("alerts, newest first: %s, want %s", got, want)
	}
	code, body := get(t, h, evidence)
	if code != http.StatusOK {
		t.Fatalf("evidence %s: %d", evidence, code)
	}
	e, err := translog.ParseEvidence([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Check(s.client.VKey); err != nil {
		t.Errorf("downloaded evidence does not check: %v", err)
	}
	for _, bad := range []string{"/evidence/..%2fstate.json", "/evidence/state.json", "/evidence/1-99.evidence"} {
		if code, _ := get(t, h, bad); code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", bad, code)
		}
	}

	l := getJSON[logView](t, h, "/api/log")
	if l.Size != 8 || !l.QuorumOK || len(l.Witnesses) != 2 || l.Witnesses[0].Health != "ok" || l.Witnesses[1].Health != "missing" {
		t.Errorf("log: %+v", l)
	}

	hit := getJSON[lookupView](t, h, "/api/lookup?digest=sha256:"+artifact("1.0.0").SHA256)
	if len(hit.Releases) != 1 || hit.Releases[0].Version != "1.0.0" || hit.Releases[0].Artifact != "app" {
		t.Errorf("lookup hit: %+v", hit)
	}
	miss := getJSON[lookupView](t, h, "/api/lookup?digest=sha256:"+artifact("1.2.0").SHA256)
	if len(miss.Releases) != 0 {
		t.Errorf("1.2.0 was never verified, yet: %+v", miss)
	}
	for _, bad := range []string{"/api/lookup?digest=abc", "/api/lookup?digest=sha256:" + strings.ToUpper(artifact("1.0.0").SHA256), "/api/alerts?page=2", "/api/releases/x"} {
		if code, _ := get(t, h, bad); code != http.StatusBadRequest {
			t.Errorf("GET %s: %d, want 400", bad, code)
		}
	}
	if code, _ := get(t, h, "/api/releases/6"); code != http.StatusNotFound {
		t.Errorf("the hostile entry is not a release, yet: %d", code)
	}
	pols := getJSON[[]policyView](t, h, "/api/policies")
	if len(pols) != 1 || pols[0].Index != -1 || pols[0].Rebuilds != 2 {
		t.Errorf("policies: %+v", pols)
	}
}

// TestPagesEscapeLoggedStrings: every page renders, and the hostile
// strings of the log appear only escaped.
func TestPagesEscapeLoggedStrings(t *testing.T) {
	s := newScenario(t)
	h := s.ex.Handler()
	seen := map[string]bool{}
	for _, path := range []string{"/", "/log", "/products/app", "/releases/4", "/alerts", "/policies", "/lookup",
		"/lookup?digest=sha256:" + artifact("1.1.0").SHA256, "/reports"} {
		code, body := get(t, h, path)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d\n%s", path, code, body)
		}
		for _, raw := range []string{hostileProduct, hostileURI, "<img", "<script>"} {
			if strings.Contains(body, raw) {
				t.Errorf("GET %s: %q unescaped", path, raw)
			}
		}
		seen["product"] = seen["product"] || strings.Contains(body, `&lt;script&gt;alert(\&#34;product\&#34;)&lt;/script&gt;`) // quoted by %q
		seen["uri"] = seen["uri"] || strings.Contains(body, "&lt;img src=x onerror=alert(&#34;uri&#34;)&gt;")
	}
	if !seen["product"] || !seen["uri"] {
		t.Errorf("the hostile strings should be shown, as text: %v", seen)
	}
	code, body := get(t, h, "/products/%3Cscript%3E")
	if code != http.StatusNotFound || strings.Contains(body, "<script>") {
		t.Errorf("unknown product: %d, %q", code, body)
	}
}

// TestRefreshFollowsTheMonitor: a pass after the explorer started shows
// up after Refresh, and an explorer started afresh reads the same.
func TestRefreshFollowsTheMonitor(t *testing.T) {
	s := newScenario(t)
	s.log(s.release("1.3.0", 3, "https://x.org/app.git", "alice", "carol"))
	s.pass()
	h := s.ex.Handler()
	if p := getJSON[productView](t, h, "/api/products/app"); p.Total != 2 {
		t.Fatalf("before Refresh: %d releases", p.Total)
	}
	if err := s.ex.Refresh(); err != nil {
		t.Fatal(err)
	}
	p := getJSON[productView](t, h, "/api/products/app")
	if p.Total != 3 || p.Releases[0].Version != "1.3.0" || p.Releases[0].Rebuilds.Status != RebuildsWaiting || p.Releases[0].Rebuilds.Need != 2 {
		t.Fatalf("after Refresh: %d releases, newest %+v", p.Total, p.Releases[0])
	}
	again, err := New(Config{Dir: s.mon.Dir, Pinned: s.pol, VKey: s.client.VKey})
	if err != nil {
		t.Fatal(err)
	}
	a1, a2 := getJSON[alertsView](t, h, "/api/alerts"), getJSON[alertsView](t, again.Handler(), "/api/alerts")
	p2 := getJSON[productView](t, again.Handler(), "/api/products/app")
	if p2.Total != 3 || a1.Total != a2.Total {
		t.Fatalf("a new explorer: %d releases, %d alerts; want 3 and %d", p2.Total, a2.Total, a1.Total)
	}
}
