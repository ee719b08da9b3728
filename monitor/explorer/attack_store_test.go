package explorer

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"ssms.dev/ssms/updater/report"
)

// Outside review M3: kept reports must cost the monitor's process little
// memory, and never delay its start, however many there are.

// bigReports posts n reports of nearly report.MaxSize, each from its own
// /64, and returns their ids.
func bigReports(t *testing.T, h http.Handler, n int) []string {
	junk := base64.StdEncoding.EncodeToString(make([]byte, (report.MaxSize-4096)*3/4))
	var ids []string
	for i := range n {
		r := report.New("app", "other", errors.New("x"), time.Date(2026, 11, 27, 0, 0, i, 0, time.UTC))
		r.Evidence.Bundle = junk
		code, out := post(t, h, fmt.Sprintf("[2001:db8:%x::1]", i+1), marshal(t, r))
		if code != http.StatusCreated {
			t.Fatalf("report %d: %d %v", i, code, out)
		}
		ids = append(ids, out["id"])
	}
	return ids
}

// TestAttackKeptReportsInMemory: 100 reports of 2 MiB add little to the
// heap (a summary each, the bodies stay on disk); a restart lists them
// at once, unchecked, and checks them in the background.
func TestAttackKeptReportsInMemory(t *testing.T) {
	s := newScenario(t)
	h := s.ex.Handler()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const n = 100
	ids := bigReports(t, h, n)
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d reports of 2 MiB: heap grew by %d KiB", n, grew>>10)
	if grew > 8<<20 {
		t.Errorf("kept reports are held in memory: the heap grew by %d MiB for %d reports", grew>>20, n)
	}
	if v := getJSON[reportView](t, h, "/api/reports/"+ids[0]); !v.Checked || len(v.Claims) == 0 || v.Product != "app" {
		t.Errorf("a report's page reads its claims from disk: %+v", v)
	}

	start := time.Now()
	ex, err := New(Config{Dir: s.mon.Dir, Pinned: s.pol, VKey: s.client.VKey})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("New with %d kept reports: %v", n, took)
	if took > time.Second {
		t.Errorf("New waits for the kept reports to be checked: %v", took)
	}
	h2 := ex.Handler()
	if list := getJSON[reportsView](t, h2, "/api/reports"); list.Total != n {
		t.Errorf("after a restart: %d reports listed, want %d", list.Total, n)
	}
	<-ex.reports.checked
	list := getJSON[reportsView](t, h2, "/api/reports?page=2")
	old := list.Reports[len(list.Reports)-1]
	if !old.Checked || old.ID != ids[0] || old.Product != "app" || old.Check != "other" {
		t.Errorf("after the background check: %+v", old)
	}
}

// TestAttackKeptReportsUnchecked: until the background check reaches a
// kept report, its page says so rather than showing no evidence.
func TestAttackKeptReportsUnchecked(t *testing.T) {
	s := newScenario(t)
	ids := bigReports(t, s.ex.Handler(), 1)
	rs, err := openReports(s.ex.reports.dir, s.ex.checkReport)
	if err != nil {
		t.Fatal(err)
	}
	s.ex.reports = rs
	if _, page := get(t, s.ex.Handler(), "/reports/"+ids[0]); !strings.Contains(page, "not checked yet") {
		t.Errorf("an unchecked report's page should say so:\n%s", page)
	}
	if _, page := get(t, s.ex.Handler(), "/reports"); !strings.Contains(page, "not checked yet") {
		t.Errorf("the list should say a report is not checked yet")
	}
	rs.checkKept()
	if v := getJSON[reportView](t, s.ex.Handler(), "/api/reports/"+ids[0]); !v.Checked {
		t.Errorf("checked: %+v", v)
	}
}

// TestAttackReportBytesCap: past the byte cap, reports are refused (507)
// even below MaxReports; a report received before is still answered.
func TestAttackReportBytesCap(t *testing.T) {
	s := newScenario(t)
	h := s.ex.Handler()
	s.ex.reports.maxBytes = 3 * report.MaxSize
	ids := bigReports(t, h, 3)
	r := report.New("app", "other", errors.New("x"), time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC))
	r.Evidence.Bundle = base64.StdEncoding.EncodeToString(make([]byte, (report.MaxSize-4096)*3/4))
	if code, out := post(t, h, "192.0.2.9", marshal(t, r)); code != http.StatusInsufficientStorage {
		t.Errorf("past the byte cap: %d %v", code, out)
	}
	if code, _ := get(t, h, "/api/reports/"+ids[2]); code != http.StatusOK {
		t.Errorf("a kept report: %d", code)
	}
}
