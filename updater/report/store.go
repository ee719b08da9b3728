package report

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"ssms.dev/ssms/internal/atomicfile"
)

// Dir is where Save puts reports, under the updater's state directory.
const Dir = "reports"

// MaxKept is how many reports STATE/reports keeps: Save removes the
// oldest beyond it, so that hostile mirrors and a frequent auto-update
// cannot fill the state directory's disk (at most MaxKept × MaxSize).
const MaxKept = 100

// Save writes r into stateDir/reports under a name no other report has
// (its time and check), and returns the path. Auditors collect the
// directory; nothing in it is ever rewritten, but the oldest reports are
// removed beyond MaxKept.
func Save(stateDir string, r *Report) (string, error) {
	b, err := r.Marshal()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(stateDir, Dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	stamp := strings.NewReplacer("-", "", ":", "").Replace(r.Time)
	for i := 0; ; i++ {
		name := fmt.Sprintf("%s-%s.json", stamp, r.Check)
		if i > 0 {
			name = fmt.Sprintf("%s-%s-%d.json", stamp, r.Check, i)
		}
		path := filepath.Join(dir, name)
		err := atomicfile.Create(path, append(b, '\n'), 0o644)
		if err == nil {
			prune(dir, name, MaxKept)
		}
		if !errors.Is(err, fs.ErrExist) {
			return path, err
		}
	}
}

// reportName matches the names Save gives.
var reportName = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-[a-z-]+(-[0-9]+)?\.json$`)

// prune removes the oldest reports in dir (by modification time, then
// name) beyond keep, never the one just written (kept). It is best
// effort: a report it cannot remove stays.
func prune(dir, kept string, keep int) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type rep struct {
		name string
		mod  time.Time
	}
	var reps []rep
	for _, e := range entries {
		if !e.Type().IsRegular() || !reportName.MatchString(e.Name()) || e.Name() == kept {
			continue
		}
		if fi, err := e.Info(); err == nil {
			reps = append(reps, rep{e.Name(), fi.ModTime()})
		}
	}
	sort.Slice(reps, func(i, j int) bool {
		if !reps[i].mod.Equal(reps[j].mod) {
			return reps[i].mod.Before(reps[j].mod)
		}
		return reps[i].name < reps[j].name
	})
	for len(reps) > keep-1 {
		os.Remove(filepath.Join(dir, reps[0].name))
		reps = reps[1:]
	}
}

// SubmitTimeout bounds a submission: reporting must never hold up the
// program that refused an update.
const SubmitTimeout = 5 * time.Second

// submitClient follows no redirect: a 307 would post the report again to
// whatever host the endpoint names (another party, an internal address),
// a 301 could turn https into http.
var submitClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Submit posts r to an auditors' endpoint (an explorer's /api/reports).
// It is best effort: the caller reports its error as a warning, never as
// a failure of the update. A redirect is not followed: it is an error
// that names where it pointed.
func Submit(ctx context.Context, url string, r *Report) error {
	b, err := r.Marshal()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, SubmitTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := submitClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 == 3 {
		return fmt.Errorf("%s answered %s, to %s: a report is not posted to where a redirect points; give that URL as the endpoint if it is the auditors'", url, resp.Status, Scrub(resp.Header.Get("Location")))
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %s", url, resp.Status)
	}
	return nil
}
