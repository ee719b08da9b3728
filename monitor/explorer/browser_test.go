package explorer

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// The browser tests load the pages in headless Chromium (Debian's
// chromium package) and check what a user sees. Without chromium they
// skip, unless SSMS_REQUIRE_CHROMIUM is set (scripts/test sets it, after
// installing the package).

// browser starts Chromium for one test. Every JavaScript dialog it opens
// is counted and dismissed: the hostile strings of the log would open one
// if they ran.
func browser(t *testing.T) (context.Context, *atomic.Int32) {
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("SSMS_REQUIRE_CHROMIUM") != "" {
			t.Fatalf("chromium: %v (SSMS_REQUIRE_CHROMIUM is set)", err)
		}
		t.Skip("chromium is not installed (apt-get install chromium): skipping the browser tests")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.UserDataDir(t.TempDir()))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run as root with its sandbox
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser, on a context without a timeout
		t.Fatalf("starting chromium: %v", err)
	}
	var dialogs atomic.Int32
	events := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range events {
			if err != nil {
				return
			}
			dialogs.Add(1)
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	return ctx, &dialogs
}

// do runs steps, each bounded so that a page that never shows what is
// awaited fails the test instead of hanging it.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// read runs one action and returns what it read.
func read[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

type css = chromedp.CSS

// inert checks the loaded page: no script but the explorer's own, no
// element a hostile string would have made.
func inert(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	foreign := read(t, ctx, url+": counting foreign elements", chromedp.Evaluate[int](
		`document.querySelectorAll('script:not([src="/static/lookup.js"]), img, iframe, [onerror], [onload]').length`))
	if foreign != 0 {
		t.Errorf("%s: %d elements from logged data", url, foreign)
	}
}

func TestBrowser(t *testing.T) {
	ctx, dialogs := browser(t)
	s := newScenario(t)
	rep := s.reportWithEvidence("app")
	s.addFork(rep)
	_, out := post(t, s.ex.Handler(), "192.0.2.1", marshal(t, rep))
	srv := httptest.NewServer(s.ex.Handler())
	t.Cleanup(srv.Close)
	u := srv.URL

	// A release with its signers; a rebuild mismatch, in red.
	do(t, ctx, "product page", chromedp.Navigate(u+"/products/app"), chromedp.WaitVisible(css("#r1")))
	signers := read(t, ctx, "signers", chromedp.Text(css("#r1 .signers")))
	status := read(t, ctx, "rebuilds", chromedp.Text(css("#r1 .rebuilds")))
	mismatch := read(t, ctx, "mismatch", chromedp.Text(css("#r4 .mismatch")))
	color := read(t, ctx, "color", chromedp.Evaluate[string](`getComputedStyle(document.querySelector('#r4 .rebuilds')).color`))
	if !strings.HasPrefix(signers, "alice, bob") || status != "reproduced" {
		t.Errorf("1.0.0: signers %q, rebuilds %q", signers, status)
	}
	if color != "rgb(176, 0, 32)" || !strings.Contains(mismatch, "rebuild by r1") {
		t.Errorf("1.1.0's mismatch: color %q, text %q", color, mismatch)
	}
	if uri := read(t, ctx, "source", chromedp.Text(css("#r4 dd:nth-of-type(3)"))); !strings.Contains(uri, hostileURI) {
		t.Errorf("the source URI should read as text: %q", uri)
	}
	inert(t, ctx, "/products/app")

	// An alert with its evidence link, which downloads the evidence.
	do(t, ctx, "alerts page", chromedp.Navigate(u+"/alerts"), chromedp.WaitVisible(css(".alerts")))
	href := read(t, ctx, "evidence link", chromedp.AttributeValue(css(`li[data-kind="inconsistent-log"] a.evidence`), "href")).Value
	message := read(t, ctx, "bad entry", chromedp.Text(css(`li[data-kind="bad-entry"] .message`)))
	resp, err := http.Get(u + href)
	if err != nil || resp.StatusCode != http.StatusOK || !strings.HasPrefix(href, "/evidence/") {
		t.Errorf("evidence link %q: %v %v", href, err, resp)
	} else {
		resp.Body.Close()
	}
	if !strings.Contains(message, `<script>alert(\"product\")</script>`) {
		t.Errorf("the hostile product name should read as text: %q", message)
	}
	inert(t, ctx, "/alerts")

	// The lookup: a hit by pasting, a miss, and a hit by hashing a file
	// in the browser.
	do(t, ctx, "lookup hit", chromedp.Navigate(u+"/lookup"),
		chromedp.SetValue(css("#digest"), "sha256:"+artifact("1.0.0").SHA256), chromedp.Submit(css("#digest")),
		chromedp.WaitVisible(css(".hit")))
	if hit := read(t, ctx, "hit", chromedp.Text(css(".hit"))); !strings.Contains(hit, "1 verified release") {
		t.Errorf("hit: %q", hit)
	}
	do(t, ctx, "lookup miss", chromedp.Navigate(u+"/lookup"),
		chromedp.SetValue(css("#digest"), "sha256:"+artifact("1.2.0").SHA256), chromedp.Submit(css("#digest")),
		chromedp.WaitVisible(css(".miss")))
	if miss := read(t, ctx, "miss", chromedp.Text(css(".miss"))); !strings.Contains(miss, "not an artifact of any release") {
		t.Errorf("miss: %q", miss)
	}
	file := filepath.Join(t.TempDir(), "app")
	os.WriteFile(file, []byte("app 1.1.0"), 0o644)
	do(t, ctx, "lookup by file", chromedp.Navigate(u+"/lookup"), chromedp.WaitVisible(css("#file")),
		chromedp.SetUploadFiles(css("#file"), []string{file}), chromedp.WaitVisible(css(".hit")))
	hashed := read(t, ctx, "digest field", chromedp.Value(css("#digest")))
	version := read(t, ctx, "found", chromedp.Text(css("article.release h3")))
	if hashed != "sha256:"+artifact("1.1.0").SHA256 || !strings.Contains(version, "app 1.1.0") {
		t.Errorf("hashed in the browser: %q, found %q", hashed, version)
	}

	// A failure report: verified facts apart from claims.
	do(t, ctx, "report page", chromedp.Navigate(u+"/reports/"+out["id"]), chromedp.WaitVisible(css("section.claims")))
	verified := read(t, ctx, "verified", chromedp.Text(css("section.verified")))
	claims := read(t, ctx, "claims", chromedp.Text(css("section.claims")))
	if !strings.Contains(verified, "the log signed two views") || strings.Contains(verified, hostileError) {
		t.Errorf("verified section: %q", verified)
	}
	if !strings.Contains(claims, hostileError) {
		t.Errorf("claims section: %q", claims)
	}
	inert(t, ctx, "/reports/ID")

	for _, p := range []string{"/", "/log", "/policies", "/reports", "/releases/4"} {
		do(t, ctx, p, chromedp.Navigate(u+p), chromedp.WaitVisible(css("main")))
		inert(t, ctx, p)
	}
	if n := dialogs.Load(); n != 0 {
		t.Errorf("%d JavaScript dialogs opened: logged data ran as script", n)
	}

	// The control: a page that does run a hostile string is caught.
	ctrl := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte(`<p>control</p>` + hostileProduct))
	}))
	t.Cleanup(ctrl.Close)
	do(t, ctx, "control page", chromedp.Navigate(ctrl.URL), chromedp.WaitVisible(css("p")))
	for deadline := time.Now().Add(5 * time.Second); dialogs.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	if dialogs.Load() != 1 {
		t.Errorf("the control page's script opened %d dialogs, want 1: this test would not see a script run", dialogs.Load())
	}
}

// TestBrowserWithoutJavaScript: the lookup works as a plain form, and the
// file picker (which needs JavaScript) stays hidden.
func TestBrowserWithoutJavaScript(t *testing.T) {
	ctx, _ := browser(t)
	s := newScenario(t)
	srv := httptest.NewServer(s.ex.Handler())
	t.Cleanup(srv.Close)
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "lookup without JavaScript", chromedp.Navigate(srv.URL+"/lookup"), chromedp.WaitReady(css("#digest")))
	if shown := read(t, ctx, "file picker", chromedp.Evaluate[bool](`!document.querySelector('.js-only').hidden`)); shown {
		t.Errorf("the file picker shows without JavaScript")
	}
	do(t, ctx, "submit", chromedp.SetValue(css("#digest"), "sha256:"+artifact("1.0.0").SHA256), chromedp.Submit(css("#digest")),
		chromedp.WaitVisible(css(".hit")))
	if hit := read(t, ctx, "hit", chromedp.Text(css(".hit"))); !strings.Contains(hit, "1 verified release") {
		t.Errorf("hit: %q", hit)
	}
}
