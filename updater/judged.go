package updater

import (
	"cmp"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"

	"ssms.dev/ssms/internal/atomicfile"
	"ssms.dev/ssms/verifier/bundler"
)

// judgedFile is the cache, beside the log's index in STATE/index, of what
// earlier runs learned from the log's entries: the chain of logged
// policies, and the releases its newest policy does not approve. An
// unchanged log then costs no entry reads, however many below-threshold
// "releases" someone logs. It is this updater's own cache: one that cannot
// be read is made again. It only ever spares reads; the bundle installed
// is verified in full.
const judgedFile = "judged.json"

// maxJudgedSize bounds the cache: 30 bytes or so an entry.
const maxJudgedSize = 64 << 20

// judged is judgedFile's content.
type judged struct {
	Version int    `json:"version"`
	Log     string `json:"log"`  // the log's origin
	From    string `json:"from"` // the digest of the policy in force the chain starts from
	// Size is the log's size when the chain was walked: a policy logged
	// at or after it means walking again.
	Size        int64         `json:"size"`
	Chain       []judgedLink  `json:"chain"`       // the logged policies after From, in version order
	NotApproved []notApproved `json:"notApproved"` // releases the chain's newest policy does not approve

	dir   string
	dirty bool
}

type judgedLink struct {
	Index   int64  `json:"index"`
	Version uint64 `json:"version"`
	Digest  string `json:"digest"`
}

type notApproved struct {
	Index int64 `json:"index"`
	// Stranded says why it cannot be installed though a policy before the
	// newest approved it; "" when it never was a release.
	Stranded string `json:"stranded,omitempty"`
}

func (r *runner) indexDir() string { return filepath.Join(r.u.StateDir, "index") }

// loadJudged reads the cache in dir; a missing or damaged one is empty.
func loadJudged(dir string) *judged {
	j := &judged{}
	if f, err := os.Open(filepath.Join(dir, judgedFile)); err == nil {
		b, err := io.ReadAll(io.LimitReader(f, maxJudgedSize+1))
		f.Close()
		if err != nil || len(b) > maxJudgedSize || json.Unmarshal(b, j) != nil || j.Version != 1 {
			j = &judged{}
		}
	}
	j.dir, j.Version = dir, 1
	return j
}

// valid says whether the cached chain still holds: same log, same policy
// in force, no policy logged since it was walked.
func (j *judged) valid(origin, from string, size int64, ix *bundler.Index) bool {
	if j.Log != origin || j.From != from || j.Size <= 0 || j.Size > size {
		return false
	}
	for _, p := range ix.Policies {
		if p.Index >= j.Size {
			return false
		}
	}
	return true
}

// newest is the digest of the chain's last link, "" for none.
func (j *judged) newest() string {
	if n := len(j.Chain); n > 0 {
		return j.Chain[n-1].Digest
	}
	return ""
}

func (j *judged) notApproved(i int64) (notApproved, bool) {
	k, ok := slices.BinarySearchFunc(j.NotApproved, i, func(n notApproved, i int64) int { return cmp.Compare(n.Index, i) })
	if !ok {
		return notApproved{}, false
	}
	return j.NotApproved[k], true
}

func (j *judged) add(n notApproved) {
	k, ok := slices.BinarySearchFunc(j.NotApproved, n.Index, func(n notApproved, i int64) int { return cmp.Compare(n.Index, i) })
	if !ok {
		j.NotApproved = slices.Insert(j.NotApproved, k, n)
		j.dirty = true
	}
}

// save writes the cache if it changed; a failure only costs reads.
func (j *judged) save() {
	if !j.dirty {
		return
	}
	if b, err := json.Marshal(j); err == nil {
		atomicfile.Write(filepath.Join(j.dir, judgedFile), b, 0o644)
	}
}
