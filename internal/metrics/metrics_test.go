package metrics

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	r := NewRegistry()
	r.Counter("ssms_findings_total", "Findings.", "kind", "equivocation").Add(2)
	r.Counter("ssms_findings_total", "Findings.", "kind", "sequence").Add(1)
	r.Gauge("ssms_size", "Tree size.").Set(42)
	r.Counter("ssms_findings_total", "Findings.", "kind", "equivocation").Add(1)
	want := `# HELP ssms_findings_total Findings.
# TYPE ssms_findings_total counter
ssms_findings_total{kind="equivocation"} 3
ssms_findings_total{kind="sequence"} 1
# HELP ssms_size Tree size.
# TYPE ssms_size gauge
ssms_size 42
`
	if got := r.Text(); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain; version=0.0.4") || rec.Body.String() != want {
		t.Fatalf("handler: %q %q", rec.Header().Get("Content-Type"), rec.Body.String())
	}
}
