package explorer

import (
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"ssms.dev/ssms/internal/httpserver"
	"ssms.dev/ssms/monitor"
	"ssms.dev/ssms/policies"
)

// Config says whose verified state an Explorer shows.
type Config struct {
	Dir    string           // the monitor's directory (--state)
	Pinned *policies.Policy // the monitor's pinned policy
	VKey   string           // the log's verifier key, as the monitor uses it
	Now    func() time.Time // nil: time.Now
	// ReportRate is how many failure reports one source address may send
	// per hour (default DefaultReportRate).
	ReportRate int
}

// Explorer serves the monitor's verified state as pages and JSON.
type Explorer struct {
	cfg     Config
	refresh sync.Mutex   // one Refresh at a time
	mu      sync.RWMutex // m, for the handlers
	m       *model
	reports *reportStore
	limiter *rateLimiter // reports kept
	junk    *rateLimiter // posts that kept nothing
	bodies  *httpserver.Bodies
}

// New opens the monitor's directory and reads what it has committed.
func New(cfg Config) (*Explorer, error) {
	if cfg.Dir == "" || cfg.Pinned == nil || cfg.VKey == "" {
		return nil, errors.New("explorer: Dir, Pinned and VKey are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ReportRate <= 0 {
		cfg.ReportRate = DefaultReportRate
	}
	e := &Explorer{cfg: cfg, m: newModel(cfg.Pinned), limiter: newRateLimiter(cfg.ReportRate, time.Hour, cfg.Now),
		junk:   newRateLimiter(cfg.ReportRate*JunkFactor, time.Hour, cfg.Now),
		bodies: httpserver.NewBodies(0, 0, 0)}
	if err := e.Refresh(); err != nil {
		return nil, err
	}
	rs, err := openReports(filepath.Join(cfg.Dir, ReportsDir), e.checkReport)
	if err != nil {
		return nil, err
	}
	e.reports = rs
	// Checking thousands of kept reports takes minutes: never before the
	// monitor's first pass.
	go rs.checkKept()
	return e, nil
}

// Refresh reads what the monitor committed since the last Refresh; call
// it after each pass.
func (e *Explorer) Refresh() error {
	e.refresh.Lock()
	defer e.refresh.Unlock()
	saved, err := monitor.ReadSaved(e.cfg.Dir)
	if err != nil {
		return err
	}
	e.mu.RLock()
	from := e.m.offset
	e.mu.RUnlock()
	facts, err := monitor.ReadIndex(e.cfg.Dir, from, saved.IndexSize)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, f := range facts {
		if err := e.m.add(f); err != nil {
			return err
		}
	}
	e.m.offset = max(e.m.offset, saved.IndexSize)
	if saved.Checkpoint != nil {
		return e.m.setCheckpoint(saved.Checkpoint, e.cfg.VKey, e.cfg.Now())
	}
	return nil
}

// Handler serves the pages, /api/ and the static files.
func (e *Explorer) Handler() http.Handler {
	mux := http.NewServeMux()
	page := func(pattern, tmpl string, view func(*http.Request) (any, error)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) { e.servePage(w, r, tmpl, view) })
	}
	api := func(pattern string, view func(*http.Request) (any, error)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) { e.serveJSON(w, r, view) })
	}
	page("GET /{$}", "home", e.homeView)
	page("GET /log", "log", e.passesView)
	page("GET /products/{name}", "product", e.productView)
	page("GET /releases/{index}", "release", e.releaseView)
	page("GET /releases/{index}/rebuilds", "rebuilds", e.rebuildsDetailView)
	page("GET /alerts", "alerts", e.alertsView)
	page("GET /policies", "policies", e.policiesView)
	page("GET /lookup", "lookup", e.lookupPageView)
	page("GET /reports", "reports", e.reportsView)
	page("GET /reports/{id}", "report", e.reportView)
	api("GET /api/log", e.logView)
	api("GET /api/passes", e.passesView)
	api("GET /api/products", e.productsView)
	api("GET /api/products/{name}", e.productView)
	api("GET /api/releases/{index}", e.releaseView)
	api("GET /api/releases/{index}/rebuilds", e.rebuildsDetailView)
	api("GET /api/alerts", e.alertsView)
	api("GET /api/policies", e.policiesView)
	api("GET /api/lookup", e.lookupView)
	api("GET /api/reports", e.reportsView)
	api("GET /api/reports/{id}", e.reportView)
	mux.HandleFunc("POST /api/reports", e.postReport)
	mux.HandleFunc("GET /evidence/{name}", e.serveEvidence)
	mux.HandleFunc("GET /static/{name}", serveStatic)
	return securityHeaders(mux)
}

// securityHeaders forbids what the pages never need: inline or foreign
// scripts and styles, framing, referrers. Escaping already makes logged
// strings inert; this is the second wall.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "+
			"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

// httpError is an error with the status it answers.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &httpError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &httpError{http.StatusNotFound, fmt.Sprintf(format, args...)}
}

// status maps an error to its HTTP status: the one place that does.
func status(err error) int {
	var he *httpError
	if errors.As(err, &he) {
		return he.code
	}
	return http.StatusInternalServerError
}
