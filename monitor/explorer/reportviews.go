package explorer

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"

	"ssms.dev/ssms/internal/httpserver"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/updater/report"
)

// postReport is POST /api/reports: a failure report as report.Marshal
// writes it, at most report.MaxSize bytes.
func (e *Explorer) postReport(w http.ResponseWriter, r *http.Request) {
	fail := func(code int, format string, args ...any) {
		writeJSON(w, code, map[string]string{"error": fmt.Sprintf(format, args...)})
	}
	// application/json only: a browser cannot send it to another origin
	// without asking first (CORS), and the explorer never agrees, so a
	// hostile page cannot make its visitors post reports.
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		fail(http.StatusUnsupportedMediaType, "a report is posted as application/json")
		return
	}
	// A source is charged once the outcome is known: a kept report
	// takes from its reports quota, anything else from the junk one.
	if ok, wait := e.limiter.ready(r); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		fail(http.StatusTooManyRequests, "too many reports from this address; %d an hour at most", e.cfg.ReportRate)
		return
	}
	if ok, wait := e.junk.ready(r); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		fail(http.StatusTooManyRequests, "too many invalid or repeated reports from this address; %d an hour at most", e.cfg.ReportRate*JunkFactor)
		return
	}
	kept := false
	defer func() {
		if kept {
			e.limiter.charge(r)
		} else {
			e.junk.charge(r)
		}
	}()
	b, err := e.bodies.Read(w, r, report.MaxSize)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.Is(err, httpserver.ErrBusy):
		w.Header().Set("Retry-After", "10")
		fail(http.StatusServiceUnavailable, "%v", err)
		return
	case errors.As(err, &tooLarge):
		fail(http.StatusRequestEntityTooLarge, "a report is at most %d bytes", report.MaxSize)
		return
	case err != nil:
		fail(http.StatusBadRequest, "reading the report: %v", err)
		return
	}
	// A report as report.Save keeps it ends with a newline: the same report.
	b = bytes.TrimSuffix(b, []byte("\n"))
	rep, err := report.Parse(b)
	if err != nil {
		fail(http.StatusBadRequest, "%v", err)
		return
	}
	st, isNew, err := e.reports.add(b, rep, e.cfg.Now())
	switch {
	case errors.Is(err, errFull):
		fail(http.StatusInsufficientStorage, "%v (%d)", err, MaxReports)
		return
	case err != nil:
		fail(http.StatusInternalServerError, "storing the report failed")
		return
	}
	kept = isNew
	code := http.StatusCreated
	if !isNew {
		code = http.StatusOK
	}
	w.Header().Set("Location", "/api/reports/"+st.ID)
	writeJSON(w, code, map[string]string{"id": st.ID, "page": "/reports/" + st.ID, "api": "/api/reports/" + st.ID})
}

type claimView struct {
	Field string `json:"field"`
	Value string `json:"value"`
}

type reportView struct {
	ID       string      `json:"id"`
	Received string      `json:"received"`
	Checked  bool        `json:"checked"` // false: kept from before the explorer started, not checked yet
	Product  string      `json:"product"` // as claimed: for listing only
	Check    string      `json:"check"`   // as claimed: for listing only
	Verified []Fact      `json:"verified"`
	Claims   []claimView `json:"claims,omitempty"` // the reporter's word, not checked; on a report's own page only
}

// report is the view of a report's summary; claims are read from disk
// only for a report's own page.
func (e *Explorer) report(st *stored) reportView {
	v := reportView{ID: st.ID, Received: manifest.FormatTime(st.Received), Checked: st.Checked, Product: st.Product, Check: st.Check,
		Verified: append([]Fact{}, st.Facts...)}
	if st.Want != "" {
		e.mu.RLock()
		v.Verified = append(v.Verified, e.m.artifactFact(st.Want))
		e.mu.RUnlock()
	}
	return v
}

type reportsView struct {
	pageInfo
	Reports []reportView `json:"reports"` // newest first, without their claims
}

func (e *Explorer) reportsView(r *http.Request) (any, error) {
	p, lo, hi, err := paginate(r, e.reports.len())
	if err != nil {
		return nil, err
	}
	v := reportsView{pageInfo: p, Reports: []reportView{}}
	for _, st := range e.reports.page(lo, hi) {
		v.Reports = append(v.Reports, e.report(st))
	}
	return v, nil
}

func (e *Explorer) reportView(r *http.Request) (any, error) {
	id := r.PathValue("id")
	st := e.reports.get(id)
	if st == nil {
		return nil, notFound("no report %q", id)
	}
	v := e.report(st)
	v.Claims = []claimView{}
	rep, err := e.reports.read(id)
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", id, err)
	}
	for _, c := range claims(rep) {
		v.Claims = append(v.Claims, claimView{c[0], c[1]})
	}
	return v, nil
}
