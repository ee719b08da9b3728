package trillianlog_test

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"ssms.dev/ssms/translog"
	"ssms.dev/ssms/translog/trillianlog"
)

// keyedAdmitter admits "ok SUBJECT KEY..." as a claim on SUBJECT signed
// by the KEYs, as translog's own tests do.
type keyedAdmitter struct{}

func (keyedAdmitter) Admit(e []byte) (translog.Claim, error) {
	f := strings.Fields(string(e))
	if len(f) < 2 || f[0] != "ok" {
		return translog.Claim{}, fmt.Errorf("%w: not ok", translog.ErrNotAdmitted)
	}
	return translog.Claim{Subject: sha256.Sum256([]byte(f[1])), Keys: slices.Compact(slices.Sorted(slices.Values(f[2:])))}, nil
}

// TestKeyLimitAcrossFrontEnds: a key's hourly allowance is one for the
// whole log, however many front ends it spreads its additions over.
func TestKeyLimitAcrossFrontEnds(t *testing.T) {
	addr, dsn := env(t)
	opts := trillianlog.Options{TreeID: newTree(t, addr), Key: newKey(t)}
	var urls []string
	for range 2 {
		srv := translog.NewBackendServer(openFrontEnd(t, addr, dsn, opts), keyedAdmitter{})
		srv.KeyLimit = 2
		hs := httptest.NewServer(srv.Handler())
		t.Cleanup(hs.Close)
		urls = append(urls, hs.URL)
	}
	add := func(fe int, entry string) (int, string) {
		t.Helper()
		resp, err := http.Post(urls[fe]+"/add", "text/plain", strings.NewReader(entry))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	for i, step := range []struct {
		fe     int
		entry  string
		status int
	}{
		{0, "ok r1 a", 200},
		{1, "ok r2 a", 200},
		{0, "ok r3 a", 429}, // a's two, one on each front end
		{1, "ok r3 a", 429},
		{1, "ok r1 a", 200},   // a copy costs nothing
		{0, "ok r3 a b", 200}, // charged to b
		{1, "ok r4 b", 200},
		{0, "ok r5 b", 429},
	} {
		status, retry := add(step.fe, step.entry)
		if status != step.status {
			t.Fatalf("step %d: %q on front end %d: %d, want %d", i, step.entry, step.fe, status, step.status)
		}
		if status == 429 && (retry == "" || retry == "0") {
			t.Errorf("step %d: 429 without a Retry-After", i)
		}
	}
}
