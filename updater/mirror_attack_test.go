package updater

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"ssms.dev/ssms/internal/slowhttp"
	"ssms.dev/ssms/updater/mirror"
	"ssms.dev/ssms/updater/report"
)

// reportsOf is every report in the state directory, parsed, with its raw
// bytes.
func reportsOf(t *testing.T, state string) map[*report.Report]string {
	t.Helper()
	l, _ := filepath.Glob(filepath.Join(state, report.Dir, "*.json"))
	out := map[*report.Report]string{}
	for _, f := range l {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r, err := report.Parse([]byte(strings.TrimSuffix(string(b), "\n")))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[r] = string(b)
	}
	return out
}

// noSecret fails if any report, raw or its bundle evidence decoded, holds
// secret.
func noSecret(t *testing.T, state, secret string) {
	t.Helper()
	for r, raw := range reportsOf(t, state) {
		if strings.Contains(raw, secret) || strings.Contains(string(r.Evidence.BundleBytes()), secret) {
			t.Errorf("a %s report holds %q: %s", r.Check, secret, raw)
		}
	}
}

// withheldFor says whether a withheld report's error holds why.
func withheldFor(t *testing.T, state, why string) bool {
	t.Helper()
	for r := range reportsOf(t, state) {
		if r.Check == "withheld" && strings.Contains(r.Error, why) {
			return true
		}
	}
	return false
}

// withUpdate is a project with 1.0.0 installed and 1.1.0 logged.
func withUpdate(t *testing.T) *project {
	p := newProject(t, 1)
	p.publish("1.0.0", 1, "app 1.0.0")
	if _, err := p.updater().Update(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.publish("1.1.0", 2, "app 1.1.0")
	return p
}

// TestAttackDirectoryMirrorLinkIntoReport: a directory mirror someone
// else can write links the bundle to a file only the updater can read,
// then to a FIFO. Neither is read: no report holds the file, and the
// FIFO does not hang the update (and its lock).
func TestAttackDirectoryMirrorLinkIntoReport(t *testing.T) {
	p := withUpdate(t)
	secret := filepath.Join(t.TempDir(), "id_ed25519")
	os.WriteFile(secret, []byte("TOPSECRET-KEY"), 0o600)
	bp := filepath.Join(p.mirrors[0], "app", "1.1.0.bundle")
	os.Remove(bp)
	must(t, os.Symlink(secret, bp))
	var posted atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 4<<20)
		n, _ := r.Body.Read(b)
		if strings.Contains(string(b[:n]), base64.StdEncoding.EncodeToString([]byte("TOPSECRET-KEY"))[:12]) {
			posted.Add(1)
		}
	}))
	defer srv.Close()
	u := p.updater()
	u.Report = srv.URL
	_, err := u.Update(context.Background())
	if !errors.Is(err, ErrFrozen) || !withheldFor(t, p.state, mirror.ErrNotRegular.Error()) {
		t.Errorf("a linked bundle: %v; want a mirror withholding the release (not a regular file)", err)
	}
	noSecret(t, p.state, "TOPSECRET")
	if posted.Load() > 0 {
		t.Errorf("the linked file was posted to the report endpoint")
	}
	os.Remove(bp)
	must(t, syscall.Mkfifo(bp, 0o644))
	done := make(chan error, 1)
	go func() { _, err := p.updater().Update(context.Background()); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrFrozen) {
			t.Errorf("a FIFO bundle: %v; want a mirror withholding the release", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a FIFO in the mirror hangs the update")
	}
}

// TestAttackRedirectIntoReport: an HTTP mirror redirects the bundle to an
// address only the client can reach. The address is not asked, and its
// answer is in no report.
func TestAttackRedirectIntoReport(t *testing.T) {
	p := withUpdate(t)
	var asked atomic.Int64
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		w.Write([]byte(`{"AccessKeyId":"AKIA-INTERNAL-ONLY"}`))
	}))
	defer internal.Close()
	hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, internal.URL+"/latest/meta-data/iam/security-credentials/role", http.StatusFound)
	}))
	defer hostile.Close()
	_, err := p.updater(hostile.URL).Update(context.Background())
	if !errors.Is(err, ErrFrozen) || !withheldFor(t, p.state, mirror.ErrRedirect.Error()) {
		t.Errorf("update: %v; want a mirror withholding the release (a redirect elsewhere)", err)
	}
	if asked.Load() > 0 {
		t.Errorf("the redirect's target was asked %d times", asked.Load())
	}
	noSecret(t, p.state, "AKIA-INTERNAL-ONLY")
}

// TestAttackNonBundleNotEvidence: what a mirror serves as the bundle is
// kept as evidence only if it parses as a bundle; otherwise the report
// gives its size and digest.
func TestAttackNonBundleNotEvidence(t *testing.T) {
	p := withUpdate(t)
	page := []byte(`<html>internal admin page: password=hunter2</html>`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(page) }))
	defer srv.Close()
	_, err := p.updater(srv.URL).Update(context.Background())
	var ref *RefusedError
	if !errors.As(err, &ref) || ref.Check != "format" {
		t.Fatalf("update: %v; want a format refusal", err)
	}
	rep := checkReport(t, ref.Report, "format")
	if rep.Evidence.Bundle != "" || !strings.Contains(rep.Error, fmt.Sprintf("%d bytes, sha256:", len(page))) {
		t.Errorf("evidence %q, error %q; want no bundle, and the size and digest", rep.Evidence.Bundle, rep.Error)
	}
	noSecret(t, p.state, "hunter2")
}

// TestAttackSlowDripRun: a mirror that sends a byte just inside the idle
// timeout holds a run no longer than its Timeout, after which the lock is
// free and the installed program starts.
func TestAttackSlowDripRun(t *testing.T) {
	p := withUpdate(t)
	srv := httptest.NewServer(slowhttp.Trickle(100 * time.Millisecond))
	defer srv.Close()
	u := p.updater(srv.URL)
	u.Mirrors[0].Idle = 300 * time.Millisecond // the mirror's own deadline is 46 s
	u.Timeout = 2 * time.Second
	start := time.Now()
	st, err := u.Update(context.Background())
	if !errors.Is(err, ErrTimeout) {
		t.Errorf("update: %v; want ErrTimeout", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the run took %v with a 2 s Timeout", d)
	}
	if st != nil && len(st.Reports) > 0 {
		t.Errorf("the run's own deadline was reported as the mirror's: %v", st.Reports)
	}
	if _, err := Start(Check{Product: "app", Pinned: u.Pinned, Path: p.bin, StateDir: p.state, LockWait: time.Second}); err != nil {
		t.Errorf("after the run, the installed program's start: %v", err)
	}
}

// TestAttackReportCredentials: a mirror's credentials (user:token@) and a
// directory mirror's local path stay out of reports, also out of the
// error text.
func TestAttackReportCredentials(t *testing.T) {
	p := withUpdate(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "busy", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	withCreds := strings.Replace(srv.URL, "http://", "http://alice:s3cret-token@", 1)
	bp := filepath.Join(p.mirrors[0], "app", "1.1.0.bundle")
	os.Remove(bp)
	must(t, syscall.Mkfifo(bp, 0o644)) // an error about a file under the path
	_, err := p.updater(withCreds, p.mirrors[0]).Update(context.Background())
	if !errors.Is(err, ErrFrozen) {
		t.Fatalf("update: %v", err)
	}
	reps := reportsOf(t, p.state)
	if len(reps) != 3 {
		t.Errorf("%d reports; want 2 withheld and a freeze", len(reps))
	}
	for r, raw := range reps {
		for _, leak := range []string{"s3cret", "alice", p.mirrors[0], filepath.Dir(p.state)} {
			if strings.Contains(raw, leak) {
				t.Errorf("a %s report holds %q: %s", r.Check, leak, raw)
			}
		}
	}
}

// TestAttackMirror503Withholds: a mirror that answers 503 to the newest
// release is, once the freeze grace is over, reported as withholding it,
// with what it answered; within the grace it is a plain error.
func TestAttackMirror503Withholds(t *testing.T) {
	p := withUpdate(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "busy", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	now := time.Now()
	u := p.updater(srv.URL)
	u.FreezeGrace = time.Hour
	u.Now = func() time.Time { return now }
	st, err := u.Update(context.Background())
	var ref *RefusedError
	if err == nil || errors.As(err, &ref) || len(st.Reports) != 0 {
		t.Fatalf("within the grace: %v, reports %v; want a plain error", err, st.Reports)
	}
	now = now.Add(61 * time.Minute)
	st, err = u.Update(context.Background())
	if !errors.As(err, &ref) || ref.Check != "freeze" || len(st.Reports) != 2 {
		t.Fatalf("after the grace: %v, reports %v; want a freeze", err, st.Reports)
	}
	if !withheldFor(t, p.state, "503") {
		t.Errorf("no withheld report says what the mirror answered (503)")
	}
}

// TestReportRelativeDirectoryMirror: a directory mirror given as "." is
// recorded as a local directory, and the rest of the error is intact
// (not every "." of it replaced).
func TestReportRelativeDirectoryMirror(t *testing.T) {
	p := withUpdate(t)
	bp := filepath.Join(p.mirrors[0], "app", "1.1.0.bundle")
	os.Remove(bp)
	must(t, syscall.Mkfifo(bp, 0o644))
	t.Chdir(p.mirrors[0])
	if _, err := p.updater(".").Update(context.Background()); !errors.Is(err, ErrFrozen) {
		t.Fatalf("update: %v", err)
	}
	if !withheldFor(t, p.state, "app 1.1.0 (entry 4) but the mirror cannot be read: mirror (a local directory): app/1.1.0.bundle: not a regular file") {
		t.Errorf("no withheld report with the error intact: %v", reportsOf(t, p.state))
	}
}
