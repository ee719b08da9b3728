package updater

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"ssms.dev/ssms/internal/atomicfile"
)

// newestFile remembers when this updater first saw the newest release in
// the log, for the freeze grace (Updater.FreezeGrace).
const newestFile = "newest.json"

type newestSeen struct {
	Ref       string `json:"ref"` // policies.ReleaseRef of the release
	FirstSeen string `json:"firstSeen"`
}

// inGrace reports whether the newest release has been in the log, as
// this updater saw it, for less than the grace. It records the first time
// it sees a release as the newest; a damaged record starts again now.
func (r *runner) inGrace() (bool, error) {
	path := filepath.Join(r.u.StateDir, newestFile)
	var rec newestSeen
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	json.Unmarshal(b, &rec) // a damaged record is a new one
	first, perr := time.Parse(time.RFC3339, rec.FirstSeen)
	if rec.Ref != r.out.Newest.Ref || perr != nil || first.After(r.now) {
		first = r.now
		rec = newestSeen{Ref: r.out.Newest.Ref, FirstSeen: first.UTC().Format(time.RFC3339)}
		out, _ := json.Marshal(rec)
		if err := atomicfile.Write(path, append(out, '\n'), 0o600); err != nil {
			return false, err
		}
	}
	r.firstSeen = first
	return r.now.Sub(first) < r.u.FreezeGrace, nil
}
