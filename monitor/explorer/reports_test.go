package explorer

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ssms.dev/ssms/updater/report"
	"ssms.dev/ssms/verifier/bundler"
)

// post sends body to POST /api/reports from the address from.
func post(t *testing.T, h http.Handler, from string, body []byte) (int, map[string]string) {
	t.Helper()
	req := httptest.NewRequest("POST", "/api/reports", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = from + ":40000"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]string
	json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out
}

// bundle is the bundle of 1.0.0 as a mirror would serve it.
func (s *scenario) bundle() []byte {
	b, err := (&bundler.Bundler{Log: s.client, Pinned: s.polEnv, IndexDir: s.t.TempDir()}).Make(context.Background(),
		bundler.Request{Product: "app", Version: "1.0.0", First: s.first})
	if err != nil {
		s.t.Fatal(err)
	}
	raw, err := b.Marshal()
	if err != nil {
		s.t.Fatal(err)
	}
	return raw
}

// reportWithEvidence is an artifact failure of 1.0.0 carrying every kind
// of evidence: the bundle, the checkpoint, the monitor's fork evidence.
func (s *scenario) reportWithEvidence(product string) *report.Report {
	r := report.New(product, "artifact", errors.New(hostileError), time.Now())
	r.Mirror = "https://mirror.example/" + hostileError
	r.Offered = &report.Release{Version: "1.0.0", Sequence: 1}
	r.Evidence.Bundle = base64.StdEncoding.EncodeToString(s.bundle())
	cp, err := s.client.Checkpoint(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	r.Evidence.Checkpoint = string(cp.Raw)
	r.Evidence.Artifact = &report.Artifact{Name: "app", Want: "sha256:" + artifact("1.0.0").SHA256, Got: "sha256:" + strings.Repeat("0", 64), Size: 9}
	return r
}

func (s *scenario) addFork(r *report.Report) {
	s.forkNow()
	files, _ := filepath.Glob(filepath.Join(s.mon.Dir, "evidence", "*.evidence"))
	if len(files) != 1 {
		s.t.Fatalf("evidence files: %v", files)
	}
	b, _ := os.ReadFile(files[0])
	r.Evidence.Fork = strings.TrimSpace(string(b))
}

func marshal(t *testing.T, r *report.Report) []byte {
	b, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func facts(v reportView) map[string]Fact {
	out := map[string]Fact{}
	for _, f := range v.Verified {
		out[f.What] = f
	}
	return out
}

// TestReportEvidenceIsChecked: a report's bundle, checkpoint, fork
// evidence and signed artifact digest are checked and shown as facts;
// everything else as the reporter's claims; the report is kept as sent
// and read again by a new explorer.
func TestReportEvidenceIsChecked(t *testing.T) {
	s := newScenario(t)
	rep := s.reportWithEvidence("app")
	s.addFork(rep)
	body := marshal(t, rep)
	h := s.ex.Handler()
	code, out := post(t, h, "192.0.2.1", body)
	if code != http.StatusCreated || out["id"] == "" {
		t.Fatalf("POST: %d %v", code, out)
	}
	v := getJSON[reportView](t, h, out["api"])
	got := facts(v)
	for what, alarm := range map[string]bool{"bundle": false, "checkpoint": false, "fork": true, "artifact": false} {
		if f, ok := got[what]; !ok || !f.OK || f.Alarm != alarm {
			t.Errorf("%s: %+v", what, f)
		}
	}
	if !strings.Contains(got["bundle"].Detail, "app 1.0.0 (sequence 1), entry 1, signed by alice, bob") {
		t.Errorf("bundle: %s", got["bundle"].Detail)
	}
	claimed := map[string]string{}
	for _, c := range v.Claims {
		claimed[c.Field] = c.Value
	}
	if claimed["error"] != hostileError || claimed["artifact downloaded digest"] != rep.Evidence.Artifact.Got || claimed["mirror"] != rep.Mirror {
		t.Errorf("claims: %v", claimed)
	}
	for _, f := range v.Verified {
		if strings.Contains(f.Detail, hostileError) || strings.Contains(f.Detail, rep.Evidence.Artifact.Got) {
			t.Errorf("a claim leaked into a verified fact: %+v", f)
		}
	}

	if code, again := post(t, h, "192.0.2.1", append(body, '\n')); code != http.StatusOK || again["id"] != out["id"] {
		t.Errorf("the same report again, as report.Save keeps it: %d %v", code, again)
	}
	kept, err := os.ReadFile(filepath.Join(s.mon.Dir, ReportsDir, out["id"]+".json"))
	if err != nil || !bytes.Equal(kept, body) {
		t.Fatalf("kept: %v, equal %v", err, bytes.Equal(kept, body))
	}
	ex2, err := New(Config{Dir: s.mon.Dir, Pinned: s.pol, VKey: s.client.VKey})
	if err != nil {
		t.Fatal(err)
	}
	<-ex2.reports.checked // in the background since New
	if v2 := getJSON[reportView](t, ex2.Handler(), out["api"]); len(v2.Verified) != 4 || !facts(v2)["fork"].Alarm {
		t.Errorf("after a restart: %+v", v2.Verified)
	}
	if code, _ := get(t, h, "/reports/"+out["id"]); code != http.StatusOK {
		t.Errorf("report page: %d", code)
	}
}

// TestReportEvidenceThatDoesNotHold: evidence that fails its check is a
// fact too (it does not verify), and never an alarm.
func TestReportEvidenceThatDoesNotHold(t *testing.T) {
	s := newScenario(t)
	rep := s.reportWithEvidence("other") // the bundle is app's
	rep.Evidence.Checkpoint = strings.Replace(rep.Evidence.Checkpoint, "\n8\n", "\n9\n", 1)
	rep.Evidence.Artifact.Want = rep.Evidence.Artifact.Got
	code, out := post(t, s.ex.Handler(), "192.0.2.1", marshal(t, rep))
	if code != http.StatusCreated {
		t.Fatalf("POST: %d %v", code, out)
	}
	got := facts(getJSON[reportView](t, s.ex.Handler(), out["api"]))
	for _, what := range []string{"bundle", "checkpoint", "artifact"} {
		if f := got[what]; f.OK || f.Alarm || f.Detail == "" {
			t.Errorf("%s: %+v", what, f)
		}
	}
	if !strings.Contains(got["bundle"].Detail, "not other") {
		t.Errorf("bundle: %s", got["bundle"].Detail)
	}
}

// TestAttackReportFlood: bodies beyond MaxSize, invalid reports and more
// than the rate from one address are refused before anything is kept
// (the refused bodies do not use the rate); another address still gets
// through.
func TestAttackReportFlood(t *testing.T) {
	s := newScenario(t)
	h := s.ex.Handler() // ReportRate 5
	if code, _ := post(t, h, "192.0.2.1", bytes.Repeat([]byte("x"), report.MaxSize+1)); code != http.StatusRequestEntityTooLarge {
		t.Errorf("too large: %d", code)
	}
	if code, out := post(t, h, "192.0.2.1", []byte(`{"type":"nonsense"}`)); code != http.StatusBadRequest || !strings.Contains(out["error"], "not a valid failure report") {
		t.Errorf("invalid: %d %v", code, out)
	}
	for i := range 5 { // the two refused above did not use the quota
		r := report.New("app", "freeze", errors.New("frozen"), time.Date(2026, 11, 27, 0, 0, i, 0, time.UTC))
		if code, _ := post(t, h, "192.0.2.1", marshal(t, r)); code != http.StatusCreated {
			t.Fatalf("report %d: %d", i, code)
		}
	}
	r := report.New("app", "freeze", errors.New("frozen"), time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC))
	if code, out := post(t, h, "192.0.2.1", marshal(t, r)); code != http.StatusTooManyRequests {
		t.Errorf("sixth from one address: %d %v", code, out)
	}
	if code, _ := post(t, h, "192.0.2.2", marshal(t, r)); code != http.StatusCreated {
		t.Errorf("another address: %d", code)
	}
	entries, _ := os.ReadDir(filepath.Join(s.mon.Dir, ReportsDir))
	if len(entries) != 6 {
		t.Errorf("%d files kept, want 6", len(entries))
	}
	if list := getJSON[reportsView](t, h, "/api/reports"); list.Total != 6 || list.Reports[0].ID == "" {
		t.Errorf("list: %+v", list)
	}
}

// TestAttackReportFromOtherOrigins: a page elsewhere makes its visitors'
// browsers post reports; a cross-origin POST without a preflight can
// only be text/plain (or a form), which is refused.
func TestAttackReportFromOtherOrigins(t *testing.T) {
	s := newScenario(t)
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"} {
		req := httptest.NewRequest("POST", "/api/reports", strings.NewReader("{}"))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		rec := httptest.NewRecorder()
		s.ex.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusUnsupportedMediaType {
			t.Errorf("Content-Type %q: %d, want 415", ct, rec.Code)
		}
	}
}

// TestAttackIPv6RateLimit: the addresses of one /64 share one allowance.
func TestAttackIPv6RateLimit(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"[2001:db8::1]:1", "[2001:db8::ffff:2]:2"},
		{"192.0.2.1:1", "192.0.2.1:9"},
	} {
		a, b := httptest.NewRequest("POST", "/", nil), httptest.NewRequest("POST", "/", nil)
		a.RemoteAddr, b.RemoteAddr = tc.a, tc.b
		if sourceOf(a) != sourceOf(b) {
			t.Errorf("%s and %s are counted apart: %s, %s", tc.a, tc.b, sourceOf(a), sourceOf(b))
		}
	}
	a, b := httptest.NewRequest("POST", "/", nil), httptest.NewRequest("POST", "/", nil)
	a.RemoteAddr, b.RemoteAddr = "[2001:db8:0:1::1]:1", "[2001:db8:0:2::1]:1"
	if sourceOf(a) == sourceOf(b) {
		t.Error("two /64s share an allowance")
	}
}

// TestAttackJunkDoesNotUseQuota: behind a NAT, one user's invalid or
// repeated posts must not use up the others' quota (outside review L6);
// they have their own allowance, JunkFactor times larger, so a flood of
// them is still cut short.
func TestAttackJunkDoesNotUseQuota(t *testing.T) {
	s := newScenario(t)
	h := s.ex.Handler() // ReportRate 5
	first := marshal(t, report.New("app", "freeze", errors.New("frozen"), time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)))
	if code, _ := post(t, h, "192.0.2.1", first); code != http.StatusCreated {
		t.Fatalf("first report: %d", code)
	}
	for i := range 10 {
		if code, _ := post(t, h, "192.0.2.1", []byte(`{"type":"nonsense"}`)); code != http.StatusBadRequest {
			t.Fatalf("invalid %d: %d", i, code)
		}
		if code, _ := post(t, h, "192.0.2.1", first); code != http.StatusOK {
			t.Fatalf("repeated %d: %d", i, code)
		}
	}
	for i := 1; i < 5; i++ {
		r := report.New("app", "freeze", errors.New("frozen"), time.Date(2026, 11, 27, 0, 0, i, 0, time.UTC))
		if code, out := post(t, h, "192.0.2.1", marshal(t, r)); code != http.StatusCreated {
			t.Fatalf("report %d after 20 junk posts: %d %v", i, code, out)
		}
	}
	for i := range 5 * JunkFactor {
		if code, _ := post(t, h, "192.0.2.2", []byte(`{"type":"nonsense"}`)); code != http.StatusBadRequest {
			t.Fatalf("invalid %d: %d", i, code)
		}
	}
	if code, out := post(t, h, "192.0.2.2", []byte(`{"type":"nonsense"}`)); code != http.StatusTooManyRequests || !strings.Contains(out["error"], "invalid or repeated") {
		t.Errorf("past the junk allowance: %d %v", code, out)
	}
}
