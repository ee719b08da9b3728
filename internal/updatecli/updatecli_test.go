package updatecli

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"ssms.dev/ssms/internal/clierr"
	"ssms.dev/ssms/internal/logfixture"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/updater"
)

// TestLogClient: the log is the policy's only one with a URL, or --log
// read under the policy's key for it (a tile mirror of the only log under
// that log's key); anything else is an error with a hint.
func TestLogClient(t *testing.T) {
	f := logfixture.New(t, "app")
	key := f.Pol.Logs[0].VKey
	one := &policies.Policy{Logs: []policies.Log{{Origin: "a", VKey: key, URL: "http://a.example/"}}}
	two := &policies.Policy{Logs: []policies.Log{one.Logs[0], {Origin: "b", VKey: key, URL: "http://b.example"}}}
	none := &policies.Policy{Logs: []policies.Log{{Origin: "a", VKey: key}}}
	for _, tc := range []struct {
		name    string
		p       *policies.Policy
		url     string
		wantErr string
	}{
		{"the only log", one, "", ""},
		{"the log by URL, slash or not", two, "http://a.example", ""},
		{"a tile mirror of the only log", one, "http://tiles.example", ""},
		{"several logs", two, "", "the policy names several logs"},
		{"no URL", none, "", "the policy gives no log URL"},
		{"a log the policy does not list", two, "http://c.example", "the policy lists no log at http://c.example"},
	} {
		c, err := LogClient(tc.p, tc.url)
		switch {
		case tc.wantErr == "" && (err != nil || c == nil):
			t.Errorf("%s: %v", tc.name, err)
		case tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr):
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.wantErr)
		case tc.wantErr != "":
			var b bytes.Buffer
			clierr.Report(&b, "ssms", err)
			if !strings.Contains(b.String(), "ssms: hint: ") {
				t.Errorf("%s: no hint: %s", tc.name, b.String())
			}
		}
	}
}

// TestRefused: a refusal says what it may mean, by check; other errors
// pass unchanged.
func TestRefused(t *testing.T) {
	for check, want := range map[string]string{
		"freeze": "SECURITY WARNING: the log holds a newer release", "withheld": "SECURITY WARNING",
		"fork": "SECURITY ERROR: the log showed this client two histories", "stale": "SECURITY ERROR: this client could not get a recent view",
		"artifact": "SECURITY ERROR: the update offered failed a check",
	} {
		var b bytes.Buffer
		clierr.Report(&b, "smp-server", Refused(&updater.RefusedError{Check: check, Report: "/s/r.json", Err: errors.New("x")}))
		if !strings.Contains(b.String(), "smp-server: hint: "+want) || !strings.Contains(b.String(), "The failure report is /s/r.json.") {
			t.Errorf("%s: %s", check, b.String())
		}
	}
	plain := errors.New("the log: connection refused")
	if Refused(plain) != plain {
		t.Error("a plain error changed")
	}
}

// TestAttackMirrorScheme: --mirror file:///srv/m is the directory
// /srv/m, not a relative directory "file:"; an unknown scheme is refused
// with a hint before anything runs, not reported as a mirror withholding
// the release.
func TestAttackMirrorScheme(t *testing.T) {
	fx := logfixture.New(t, "app")
	pol := &policies.Policy{Logs: []policies.Log{{Origin: "a", VKey: fx.Pol.Logs[0].VKey, URL: "http://a.example/"}}}
	f := &Flags{Mirrors: []string{"file:///srv/m", "./m", "https://m.example/ssms"}, Install: "/tmp/x/app", Product: "app"}
	u, err := f.Updater(pol, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range u.Mirrors {
		got = append(got, m.Base)
	}
	if strings.Join(got, " ") != "/srv/m ./m https://m.example/ssms" || u.Timeout != 0 {
		t.Errorf("mirrors %v, timeout %v", got, u.Timeout)
	}
	for _, bad := range []string{"ftp://m.example", "file://host/srv", "https://"} {
		f.Mirrors = []string{bad}
		_, err := f.Updater(pol, nil)
		var b bytes.Buffer
		clierr.Report(&b, "ssms", err)
		if err == nil || !strings.Contains(b.String(), "ssms: hint: ") {
			t.Errorf("--mirror %s: %v", bad, b.String())
		}
	}
	f.Mirrors, f.Timeout = nil, -time.Second
	if _, err := f.Updater(pol, nil); err == nil {
		t.Errorf("a negative --timeout was taken")
	}
}
