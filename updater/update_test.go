package updater

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ssms.dev/ssms/internal/logfixture"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/updater/mirror"
	"ssms.dev/ssms/updater/report"
	"ssms.dev/ssms/verifier"
)

// project is a log with releases of "app", mirrors filled from it, and an
// installed copy of app with its state directory.
type project struct {
	*logfixture.Fixture
	t       testing.TB
	mirrors []string // directories
	bin     string   // the installed app
	state   string
}

func newProject(t testing.TB, mirrors int) *project {
	p := &project{Fixture: logfixture.New(t, "app"), t: t}
	root := t.TempDir()
	for i := 0; i < mirrors; i++ {
		p.mirrors = append(p.mirrors, filepath.Join(root, "mirror", string(rune('a'+i))))
	}
	p.bin = filepath.Join(root, "bin", "app")
	p.state = filepath.Join(root, "state")
	os.MkdirAll(filepath.Dir(p.bin), 0o755)
	p.Add(p.PolEnv)
	return p
}

// publish logs version (signed by alice and bob, rebuilt by r1 and r2),
// bundles it and adds it to the mirrors given (all if none).
func (p *project) publish(version string, seq uint64, content string, to ...int) []byte {
	p.t.Helper()
	return p.publishBy(version, seq, content, []string{"alice", "bob"}, to...)
}

func (p *project) updater(mirrors ...string) *Updater {
	pinned, err := verifier.Pin(p.PolEnv)
	if err != nil {
		p.t.Fatal(err)
	}
	if len(mirrors) == 0 {
		mirrors = p.mirrors
	}
	u := &Updater{Product: "app", Path: p.bin, StateDir: p.state, Pinned: pinned, Log: p.Client}
	for _, m := range mirrors {
		u.Mirrors = append(u.Mirrors, &mirror.Client{Base: m})
	}
	return u
}

func (p *project) installed() string {
	b, err := os.ReadFile(p.bin)
	if err != nil {
		return ""
	}
	return string(b)
}

func TestUpdateInstallsNewestFromLog(t *testing.T) {
	p := newProject(t, 1)
	p.publish("1.0.0", 1, "app 1.0.0")
	st, err := p.updater().Update(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Installed == nil || p.installed() != "app 1.0.0" {
		t.Fatalf("installed %q, status %+v", p.installed(), st)
	}
	if len(st.Warnings) != 1 || !strings.Contains(st.Warnings[0], "names no witness quorum") {
		t.Fatalf("a policy without witnesses: warnings %q", st.Warnings)
	}
	// Nothing new: nothing done.
	st, err = p.updater().Update(context.Background())
	if err != nil || st.Newest != nil || st.Installed != nil {
		t.Fatalf("second run: %+v, %v", st, err)
	}
	// A newer release; the mirror's hint still says 1.0.0: the log decides.
	p.publish("1.1.0", 2, "app 1.1.0")
	os.WriteFile(filepath.Join(p.mirrors[0], "app", "latest"), mirror.FormatLatest("1.0.0"), 0o644)
	if st, err = p.updater().Update(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p.installed() != "app 1.1.0" || st.Running.Version != "1.0.0" || st.Installed.Release.Predicate.Version != "1.1.0" {
		t.Fatalf("installed %q, status %+v", p.installed(), st)
	}
	if _, err := os.Stat(filepath.Join(p.state, JournalFile)); !os.IsNotExist(err) {
		t.Fatal("the install was left unconfirmed")
	}
}

// TestUpdateCheckChangesNothing: --check learns the newest release and
// installs nothing.
func TestUpdateCheckChangesNothing(t *testing.T) {
	p := newProject(t, 1)
	p.publish("1.0.0", 1, "app 1.0.0")
	st, err := p.updater().Check(context.Background())
	if err != nil || st.Newest == nil || st.Newest.Version != "1.0.0" {
		t.Fatalf("check: %+v, %v", st, err)
	}
	if p.installed() != "" {
		t.Fatal("check installed something")
	}
}

// TestAttackFrozenMirrors: the log holds 1.1.0, no mirror serves it: a
// freeze, reported, and the running version stays.
func TestAttackFrozenMirrors(t *testing.T) {
	p := newProject(t, 2)
	p.publish("1.0.0", 1, "app 1.0.0")
	if _, err := p.updater().Update(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.publish("1.1.0", 2, "app 1.1.0", []int{}...) // logged, on no mirror
	removeRelease(t, p, "1.1.0")
	st, err := p.updater().Update(context.Background())
	if !errors.Is(err, ErrFrozen) {
		t.Fatalf("frozen mirrors: %v", err)
	}
	var refused *RefusedError
	if !errors.As(err, &refused) || refused.Check != "freeze" {
		t.Fatalf("error %v is not a freeze refusal", err)
	}
	if p.installed() != "app 1.0.0" {
		t.Fatalf("installed %q", p.installed())
	}
	if len(st.Reports) != 3 { // two withheld, one freeze
		t.Fatalf("reports %v", st.Reports)
	}
	checkReport(t, refused.Report, "freeze")
}

// removeRelease takes a release off every mirror, as a freezing mirror
// would.
func removeRelease(t *testing.T, p *project, version string) {
	for _, m := range p.mirrors {
		path, _ := mirror.BundlePath("app", version)
		os.Remove(filepath.Join(m, path))
	}
}

// TestAttackOneMirrorWithholds: the first mirror withholds the newest
// release; the second serves it; the first is reported.
func TestAttackOneMirrorWithholds(t *testing.T) {
	p := newProject(t, 2)
	p.publish("1.0.0", 1, "app 1.0.0", 0, 1)
	p.publish("1.1.0", 2, "app 1.1.0", 1)
	st, err := p.updater().Update(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p.installed() != "app 1.1.0" || st.Mirror != p.mirrors[1] {
		t.Fatalf("installed %q from %s", p.installed(), st.Mirror)
	}
	if len(st.Reports) != 1 {
		t.Fatalf("reports %v", st.Reports)
	}
	checkReport(t, st.Reports[0], "withheld")
}

// TestAttackTamperedArtifact: the mirror's artifact is not the signed one.
func TestAttackTamperedArtifact(t *testing.T) {
	p := newProject(t, 2)
	p.publish("1.0.0", 1, "app 1.0.0")
	d := manifest.DigestBytes([]byte("app 1.0.0"))
	path, _ := mirror.ArtifactPath(d)
	os.WriteFile(filepath.Join(p.mirrors[0], path), []byte("app 6.6.6"), 0o644)
	os.WriteFile(filepath.Join(p.mirrors[1], path), []byte("app 1.0.0 and more"), 0o644)
	_, err := p.updater().Update(context.Background())
	var refused *RefusedError
	if !errors.Is(err, ErrRefused) || !errors.As(err, &refused) || refused.Check != "artifact" {
		t.Fatalf("tampered artifacts: %v", err)
	}
	if p.installed() != "" {
		t.Fatal("installed a tampered artifact")
	}
	rep := checkReport(t, refused.Report, "artifact")
	if rep.Evidence.Artifact == nil || rep.Evidence.Artifact.Want != "sha256:"+d.SHA256 || len(rep.Evidence.BundleBytes()) == 0 {
		t.Fatalf("report evidence %+v", rep.Evidence)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(p.bin), ".ssms-download-*"))
	if len(left) > 0 {
		t.Fatalf("downloads left behind: %v", left)
	}
}

// TestAttackOtherReleaseUnderTheName: the mirror serves 1.0.0's bundle as
// 1.1.0's: the log said 1.1.0.
func TestAttackOtherReleaseUnderTheName(t *testing.T) {
	p := newProject(t, 1)
	old := p.publish("1.0.0", 1, "app 1.0.0")
	p.publish("1.1.0", 2, "app 1.1.0")
	path, _ := mirror.BundlePath("app", "1.1.0")
	os.WriteFile(filepath.Join(p.mirrors[0], path), old, 0o644)
	_, err := p.updater().Update(context.Background())
	var refused *RefusedError
	if !errors.As(err, &refused) || refused.Check != "product" || !errors.Is(err, ErrOtherRelease) ||
		!strings.Contains(err.Error(), "asked for app 1.1.0 (sequence 2, entry 4), the mirror served app 1.0.0 (sequence 1)") {
		t.Fatalf("another release under the name: %v", err)
	}
	if p.installed() != "" {
		t.Fatal("installed the substituted release")
	}
}

// TestAttackBelowThresholdNotNewest: a release signed by one maintainer
// is logged after the real one: it is not "the newest", so the mirrors
// that do not serve it are not accused, and nothing is installed from it.
func TestAttackBelowThresholdNotNewest(t *testing.T) {
	p := newProject(t, 1)
	p.publish("1.0.0", 1, "app 1.0.0")
	p.Add(p.Release(manifest.TypeRelease, "9.9.9", 99, "evil", "alice"))
	st, err := p.updater().Update(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Newest == nil || st.Newest.Version != "1.0.0" || p.installed() != "app 1.0.0" || len(st.Reports) != 0 {
		t.Fatalf("newest %+v, installed %q, reports %v", st.Newest, p.installed(), st.Reports)
	}
}

// TestReportsSubmitted: with an auditors' endpoint, each report is posted.
func TestReportsSubmitted(t *testing.T) {
	p := newProject(t, 1)
	p.publish("1.0.0", 1, "app 1.0.0")
	removeRelease(t, p, "1.0.0")
	got := make(chan []byte, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- b
	}))
	defer srv.Close()
	u := p.updater()
	u.Report = srv.URL
	if _, err := u.Update(context.Background()); !errors.Is(err, ErrFrozen) {
		t.Fatalf("frozen: %v", err)
	}
	if len(got) != 2 {
		t.Fatalf("%d reports submitted, want 2 (withheld, freeze)", len(got))
	}
	for len(got) > 0 {
		if _, err := report.Parse(<-got); err != nil {
			t.Fatal(err)
		}
	}
	// A dead endpoint is a warning, never a failure of its own.
	srv.Close()
	st, err := u.Update(context.Background())
	if !errors.Is(err, ErrFrozen) || len(st.Warnings) == 0 {
		t.Fatalf("dead endpoint: %v, warnings %v", err, st.Warnings)
	}
}

func checkReport(t *testing.T, path, check string) *report.Report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := report.Parse([]byte(strings.TrimSuffix(string(b), "\n")))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Check != check || rep.Product != "app" || rep.Evidence.Checkpoint == "" || strings.Contains(rep.Mirror+rep.Error, os.TempDir()) {
		t.Fatalf("report %+v", rep)
	}
	return rep
}

// TestKilledDownloadSwept: a download left by a SIGKILLed update is removed
// by the next update once it is stale, and a fresh one (another updater's,
// perhaps) is left alone.
func TestKilledDownloadSwept(t *testing.T) {
	p := newProject(t, 1)
	p.publish("1.0.0", 1, "app 1.0.0")
	dir := filepath.Dir(p.bin)
	stale, fresh := filepath.Join(dir, ".ssms-download-1"), filepath.Join(dir, ".ssms-download-2")
	os.WriteFile(stale, []byte("half"), 0o600)
	os.WriteFile(fresh, []byte("half"), 0o600)
	old := time.Now().Add(-2 * staleDownload)
	os.Chtimes(stale, old, old)
	if _, err := p.updater().Update(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Error("the stale download is still there")
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Error("a fresh download was removed")
	}
}

// TestFreezeGrace: a release no mirror serves yet is only "not yet" for
// the grace, from when this updater first saw it in the log; then it is a
// freeze, reported. A newer release starts the grace again.
func TestFreezeGrace(t *testing.T) {
	p := newProject(t, 2)
	p.publish("1.0.0", 1, "app 1.0.0", 0, 1)
	p.publish("1.1.0", 2, "app 1.1.0")
	removeRelease(t, p, "1.1.0")
	now := time.Now()
	u := p.updater()
	u.FreezeGrace = time.Hour
	u.Now = func() time.Time { return now }
	st, err := u.Update(context.Background())
	if err != nil || st.NotYet == nil || !errors.Is(st.NotYet, ErrFrozen) || len(st.Reports) != 0 {
		t.Fatalf("within the grace: %v, not yet %v, reports %v", err, st.NotYet, st.Reports)
	}
	if p.installed() != "" { // only the newest is installed, never an older one in its place
		t.Fatalf("installed %q", p.installed())
	}
	now = now.Add(59 * time.Minute)
	if _, err := u.Update(context.Background()); err != nil {
		t.Fatalf("still within the grace: %v", err)
	}
	now = now.Add(2 * time.Minute)
	st, err = u.Update(context.Background())
	if !errors.Is(err, ErrFrozen) || len(st.Reports) != 3 {
		t.Fatalf("after the grace: %v, reports %v", err, st.Reports)
	}
}
