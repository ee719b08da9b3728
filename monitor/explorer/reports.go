package explorer

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"ssms.dev/ssms/internal/atomicfile"
	"ssms.dev/ssms/updater/report"
)

// ReportsDir is where received failure reports are kept, under the
// monitor's directory: DIR/reports/<sha256 of the report>.json, the exact
// bytes received, created once and never rewritten (the same report sent
// again is the same file).
const ReportsDir = "reports"

// MaxReports and MaxReportBytes bound the reports kept: past either,
// POST /api/reports answers 507 until an operator archives the directory.
const (
	MaxReports     = 10_000
	MaxReportBytes = 1 << 30
)

// Fact is one thing this explorer checked in a report. Facts are never
// the reporter's word.
type Fact struct {
	What   string `json:"what"`   // bundle, checkpoint, fork, artifact, file
	OK     bool   `json:"ok"`     // the evidence verifies
	Alarm  bool   `json:"alarm"`  // and proves the log misbehaved
	Detail string `json:"detail"` // what was found, or why it does not verify
}

// stored is what memory keeps of a report: a summary of a few hundred
// bytes. The report itself (up to report.MaxSize) stays on disk, read
// again when its page is asked for, so kept reports cost the process
// little however many there are.
type stored struct {
	ID       string
	Received time.Time
	Size     int64
	// The rest is set once the report was read and checked: at once for
	// a report received now, in the background for those kept from
	// before a start.
	Checked        bool
	Product, Check string // claimed, cut to summaryLen: for listing only
	Want           string // the artifact's claimed signed digest; empty: none
	Facts          []Fact // bundle, checkpoint and fork: fixed when checked
}

// summaryLen bounds each claimed string a summary keeps.
const summaryLen = 100

func summarize(st *stored, r *report.Report, facts []Fact) {
	st.Product, st.Check, st.Facts, st.Checked = cut(r.Product), cut(r.Check), facts, true
	if a := r.Evidence.Artifact; a != nil {
		st.Want = cut(a.Want)
	}
}

func cut(s string) string {
	if len(s) <= summaryLen {
		return s
	}
	return strings.ToValidUTF8(s[:summaryLen], "") + "…"
}

type reportStore struct {
	dir      string
	mu       sync.RWMutex
	list     []*stored // received order
	byID     map[string]*stored
	bytes    int64 // the sizes of list's reports
	maxBytes int64 // MaxReportBytes; smaller in tests
	check    func(*report.Report, time.Time) []Fact
	checked  chan struct{} // closed once every kept report was checked
}

// openReports lists the reports kept in dir, reading none of them: call
// checkKept (in the background) to read and check them.
func openReports(dir string, check func(*report.Report, time.Time) []Fact) (*reportStore, error) {
	s := &reportStore{dir: dir, byID: map[string]*stored{}, check: check, checked: make(chan struct{}), maxBytes: MaxReportBytes}
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, de := range entries {
		id, ok := strings.CutSuffix(de.Name(), ".json")
		if !ok || !isID(id) {
			continue // temporary files, anything an operator put there
		}
		info, err := de.Info()
		if err != nil {
			return nil, err
		}
		s.insert(&stored{ID: id, Received: info.ModTime().UTC(), Size: info.Size()})
	}
	slices.SortStableFunc(s.list, func(a, b *stored) int { return a.Received.Compare(b.Received) })
	return s, nil
}

// checkKept reads and checks, one at a time, the reports openReports
// listed; until then their pages say they were not checked yet. A file
// that is not the report its name says is listed with that as its fact.
func (s *reportStore) checkKept() {
	defer close(s.checked)
	s.mu.RLock()
	todo := slices.Clone(s.list)
	s.mu.RUnlock()
	for _, st := range todo {
		r, err := s.read(st.ID)
		var facts []Fact
		if err != nil {
			r, facts = &report.Report{}, []Fact{{What: "file", Detail: err.Error()}}
		} else {
			facts = s.check(r, st.Received)
		}
		s.mu.Lock()
		summarize(st, r, facts)
		s.mu.Unlock()
	}
}

// read reads a kept report back from disk.
func (s *reportStore) read(id string) (*report.Report, error) {
	name := filepath.Join(s.dir, id+".json")
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	r, err := report.Parse(b)
	if err != nil || reportID(b) != id {
		return nil, fmt.Errorf("%s: %v", name, errors.Join(err, errors.New("not the report its name says")))
	}
	return r, nil
}

func (s *reportStore) insert(st *stored) {
	s.list = append(s.list, st)
	s.byID[st.ID] = st
	s.bytes += st.Size
}

func reportID(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func isID(s string) bool { return len(s) == 64 && strings.Trim(s, "0123456789abcdef") == "" }

// errFull is the answer past MaxReports or MaxReportBytes.
var errFull = errors.New("the explorer keeps no more reports")

// add keeps a parsed report durably before it is listed; isNew is false
// for a report received before.
func (s *reportStore) add(b []byte, r *report.Report, now time.Time) (st *stored, isNew bool, err error) {
	id := reportID(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.byID[id]; old != nil {
		return old, false, nil
	}
	if len(s.list) >= MaxReports || s.bytes+int64(len(b)) > s.maxBytes {
		return nil, false, errFull
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, false, err
	}
	if err := atomicfile.Create(filepath.Join(s.dir, id+".json"), b, 0o644); err != nil {
		return nil, false, err
	}
	st = &stored{ID: id, Received: now.UTC(), Size: int64(len(b))}
	summarize(st, r, s.check(r, now))
	s.insert(st)
	return st, true, nil
}

// get is a copy of the summary of report id, nil if there is none.
func (s *reportStore) get(id string) *stored {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if st := s.byID[id]; st != nil {
		c := *st
		return &c
	}
	return nil
}

// page returns copies of the summaries [lo, hi), counted from the newest.
func (s *reportStore) page(lo, hi int) []*stored {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*stored
	for i := lo; i < hi && i < len(s.list); i++ {
		c := *s.list[len(s.list)-1-i]
		out = append(out, &c)
	}
	return out
}

func (s *reportStore) len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.list)
}

// claims are a report's fields as the reporter stated them, none checked.
func claims(r *report.Report) [][2]string {
	out := [][2]string{{"time", r.Time}, {"product", r.Product}, {"check", r.Check}, {"error", r.Error}}
	add := func(k, v string) {
		if v != "" {
			out = append(out, [2]string{k, v})
		}
	}
	if r.Running != nil {
		add("running", fmt.Sprintf("%s (sequence %d)", r.Running.Version, r.Running.Sequence))
	}
	if r.Offered != nil {
		add("offered", fmt.Sprintf("%s (sequence %d)", r.Offered.Version, r.Offered.Sequence))
	}
	add("mirror", r.Mirror)
	add("log", r.Log)
	if a := r.Evidence.Artifact; a != nil {
		add("artifact", a.Name)
		add("artifact signed digest", a.Want)
		add("artifact downloaded digest", a.Got)
		add("artifact signed size", fmt.Sprint(a.Size))
	}
	return out
}

// artifactFact checks the one part of an artifact report the index can
// decide: whether the digest it says was signed belongs to a release
// this monitor verified. The downloaded digest stays a claim.
func (m *model) artifactFact(want string) Fact {
	f := Fact{What: "artifact"}
	if hex, ok := strings.CutPrefix(want, "sha256:"); ok {
		if hits := m.byDigest[hex]; len(hits) > 0 {
			// The last: one line however many releases share the digest.
			h := hits[len(hits)-1]
			for _, s := range h.rel.Subjects {
				if s.Name == h.name && s.Digest.SHA256 == hex {
					size, _ := s.Size()
					f.OK, f.Detail = true, fmt.Sprintf("%s is the signed digest of %s in %s %s (entry %d), signed size %d", want, s.Name, h.rel.Product, h.rel.Version, h.rel.Index, size)
				}
			}
			if len(hits) > 1 {
				f.Detail += fmt.Sprintf(" (and of %d other artifacts)", len(hits)-1)
			}
		}
	}
	if !f.OK {
		f.Detail = want + " is not an artifact of any release this monitor verified"
	}
	return f
}

// reportTime is the report's own time, at which its bundle is checked;
// parsed by report.Parse already.
func reportTime(r *report.Report) time.Time {
	t, _ := time.Parse(time.RFC3339, r.Time)
	return t
}
