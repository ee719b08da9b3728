package witness

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestWitnessWarns: the operator hears of each refused checkpoint and of
// each evidence file, but not of a 409, which the log resolves itself.
func TestWitnessWarns(t *testing.T) {
	log := newLog(t, "log.example")
	c, _ := newCosigner(t, "w1")
	w, err := New(t.TempDir(), c, []string{log.vkey})
	if err != nil {
		t.Fatal(err)
	}
	var warnings []string
	w.Warn = func(msg string) { warnings = append(warnings, msg) }
	srv := httptest.NewServer(w.Handler())
	defer srv.Close()
	post := func(body []byte) int {
		t.Helper()
		resp, err := http.Post(srv.URL+"/add-checkpoint", "text/plain", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	cp := log.grow(t, 3)
	for _, tt := range []struct {
		body   []byte
		status int
		warn   string
	}{
		{request(0, nil, cp.Raw), 200, ""},
		{request(0, nil, cp.Raw), 409, ""},
		{request(3, nil, []byte("log.example\n3\nnot a checkpoint\n")), 400, "refused a checkpoint: malformed request"},
		{request(3, nil, forkOf(t, log, 3).Raw), 409, "log log.example: two roots for one size; evidence in "},
	} {
		warnings = nil
		if got := post(tt.body); got != tt.status {
			t.Errorf("status %d, want %d", got, tt.status)
		}
		switch {
		case tt.warn == "" && len(warnings) > 0:
			t.Errorf("status %d: warned %q", tt.status, warnings)
		case tt.warn != "" && (len(warnings) != 1 || !strings.Contains(warnings[0], tt.warn)):
			t.Errorf("status %d: warnings %q, want one with %q", tt.status, warnings, tt.warn)
		}
	}
}
