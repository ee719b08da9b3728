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

// MaxReports bounds the reports kept: past it, POST /api/reports answers
// 507 until an operator archives the directory.
const MaxReports = 10_000

// Fact is one thing this explorer checked in a report. Facts are never
// the reporter's word.
type Fact struct {
	What   string `json:"what"`   // bundle, checkpoint, fork, artifact
	OK     bool   `json:"ok"`     // the evidence verifies
	Alarm  bool   `json:"alarm"`  // and proves the log misbehaved
	Detail string `json:"detail"` // what was found, or why it does not verify
}

// stored is a received report and what its checkable parts showed.
type stored struct {
	ID       string
	Received time.Time
	Report   *report.Report
	Facts    []Fact // bundle, checkpoint and fork: fixed when received
}

type reportStore struct {
	dir   string
	mu    sync.RWMutex
	list  []*stored // received order
	byID  map[string]*stored
	check func(*report.Report, time.Time) []Fact
}

// openReports loads the reports kept in dir and checks each again.
func openReports(dir string, check func(*report.Report, time.Time) []Fact) (*reportStore, error) {
	s := &reportStore{dir: dir, byID: map[string]*stored{}, check: check}
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
		b, err := os.ReadFile(filepath.Join(dir, de.Name()))
		if err != nil {
			return nil, err
		}
		r, err := report.Parse(b)
		if err != nil || reportID(b) != id {
			return nil, fmt.Errorf("%s: %v", filepath.Join(dir, de.Name()), errors.Join(err, errors.New("not the report its name says")))
		}
		s.insert(&stored{ID: id, Received: info.ModTime().UTC(), Report: r, Facts: check(r, info.ModTime())})
	}
	slices.SortStableFunc(s.list, func(a, b *stored) int { return a.Received.Compare(b.Received) })
	return s, nil
}

func (s *reportStore) insert(st *stored) {
	s.list = append(s.list, st)
	s.byID[st.ID] = st
}

func reportID(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func isID(s string) bool { return len(s) == 64 && strings.Trim(s, "0123456789abcdef") == "" }

// errFull is the answer past MaxReports.
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
	if len(s.list) >= MaxReports {
		return nil, false, errFull
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, false, err
	}
	if err := atomicfile.Create(filepath.Join(s.dir, id+".json"), b, 0o644); err != nil {
		return nil, false, err
	}
	st = &stored{ID: id, Received: now.UTC(), Report: r, Facts: s.check(r, now)}
	s.insert(st)
	return st, true, nil
}

func (s *reportStore) get(id string) *stored {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.byID[id]
}

// page returns reports [lo, hi) counted from the newest, and the total.
func (s *reportStore) page(lo, hi int) []*stored {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*stored
	for i := lo; i < hi && i < len(s.list); i++ {
		out = append(out, s.list[len(s.list)-1-i])
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
func (m *model) artifactFact(r *report.Report) (Fact, bool) {
	a := r.Evidence.Artifact
	if a == nil {
		return Fact{}, false
	}
	f := Fact{What: "artifact"}
	if hex, ok := strings.CutPrefix(a.Want, "sha256:"); ok {
		if hits := m.byDigest[hex]; len(hits) > 0 {
			// The last: one line however many releases share the digest.
			h := hits[len(hits)-1]
			for _, s := range h.rel.Subjects {
				if s.Name == h.name && s.Digest.SHA256 == hex {
					size, _ := s.Size()
					f.OK, f.Detail = true, fmt.Sprintf("%s is the signed digest of %s in %s %s (entry %d), signed size %d", a.Want, s.Name, h.rel.Product, h.rel.Version, h.rel.Index, size)
				}
			}
			if len(hits) > 1 {
				f.Detail += fmt.Sprintf(" (and of %d other artifacts)", len(hits)-1)
			}
		}
	}
	if !f.OK {
		f.Detail = a.Want + " is not an artifact of any release this monitor verified"
	}
	return f, true
}

// reportTime is the report's own time, at which its bundle is checked;
// parsed by report.Parse already.
func reportTime(r *report.Report) time.Time {
	t, _ := time.Parse(time.RFC3339, r.Time)
	return t
}
