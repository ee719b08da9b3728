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
	"strings"
	"time"

	"ssms.dev/ssms/internal/atomicfile"
)

// Dir is where Save puts reports, under the updater's state directory.
const Dir = "reports"

// Save writes r into stateDir/reports under a name no other report has
// (its time and check), and returns the path. Auditors collect the
// directory; nothing in it is ever rewritten.
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
		if !errors.Is(err, fs.ErrExist) {
			return path, err
		}
	}
}

// SubmitTimeout bounds a submission: reporting must never hold up the
// program that refused an update.
const SubmitTimeout = 5 * time.Second

// Submit posts r to an auditors' endpoint (an explorer's /api/reports).
// It is best effort: the caller reports its error as a warning, never as
// a failure of the update.
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
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %s", url, resp.Status)
	}
	return nil
}
