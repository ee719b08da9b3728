package monitor

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"ssms.dev/ssms/manifest"
)

// The index is what the monitor verified, kept for readers such as the
// explorer (monitor/explorer): DIR/index.jsonl, one JSON object per line,
// appended after each pass that checked entries or raised alerts other
// than those of the last pass committed (an alert repeated on every pass
// is kept when it changes, with the pass that raised it first). Each
// line holds one of "release", "rebuild", "policy", "finding", and a
// pass ends with a "pass" line. Only the first State.IndexSize bytes
// (state.json's "indexSize") are committed: the monitor appends and
// syncs the lines, then saves its state with the new size, so a crash
// between the two leaves bytes that the next pass cuts off. Nothing in
// the index is unverified data from the log: a release is in it only
// once its signatures met the threshold of the policy in force, a
// rebuild once a rebuilder of that policy signed it, a policy once it
// was accepted as the next in the chain.

// IndexFile is the index's name in the monitor's directory.
const IndexFile = "index.jsonl"

// IndexedRelease is a release that met its policy's threshold.
type IndexedRelease struct {
	Index    int64              `json:"index"`
	Ref      string             `json:"ref"` // sha256: of the payload, as rebuild attestations name it
	Product  string             `json:"product"`
	Version  string             `json:"version"`
	Sequence uint64             `json:"sequence"`
	Type     string             `json:"type"`
	Released string             `json:"released"` // as the maintainers signed it
	Source   manifest.Source    `json:"source"`
	Subjects []manifest.Subject `json:"subjects"`
	Signers  []string           `json:"signers"` // maintainers, by name in the policy in force
	Need     int                `json:"need"`    // rebuild attestations the policy in force asks for
	Policy   uint64             `json:"policy"`  // version of the policy in force
}

// IndexedRebuild is a rebuild attestation signed by a rebuilder of the
// policy in force; whether it matches its release is for the reader to
// compare (policies.Rebuild.Matches), since the monitor compares only
// those it still counts toward a threshold.
type IndexedRebuild struct {
	Index    int64              `json:"index"`
	Release  string             `json:"release"` // the release's Ref, as attested
	Product  string             `json:"product"`
	Version  string             `json:"version"`
	Builder  string             `json:"builder"` // the key's name in the policy
	KeyID    string             `json:"keyId"`
	Outcome  string             `json:"outcome"`
	Finished string             `json:"finished"`
	Subjects []manifest.Subject `json:"subjects"`
}

// IndexedPolicy is a policy rotation accepted as the next in the chain.
type IndexedPolicy struct {
	Index   int64    `json:"index"`
	Version uint64   `json:"version"`
	Digest  string   `json:"digest"`
	ByOld   []string `json:"byOld"` // maintainers of the previous version who signed it
	ByNew   []string `json:"byNew"` // its own maintainers who signed it
	Policy  []byte   `json:"policy"`
}

// IndexedPass closes the lines of one pass: entries [From, To) were
// checked at Time (the monitor's clock). A pass stopped by an
// inconsistent log has To == From.
type IndexedPass struct {
	From int64  `json:"from"`
	To   int64  `json:"to"`
	Time string `json:"time"`
}

// Facts are the index lines of one pass.
type Facts struct {
	Pass     IndexedPass
	Releases []IndexedRelease
	Rebuilds []IndexedRebuild
	Policies []IndexedPolicy
	Findings []Finding
}

type indexLine struct {
	Release *IndexedRelease `json:"release,omitempty"`
	Rebuild *IndexedRebuild `json:"rebuild,omitempty"`
	Policy  *IndexedPolicy  `json:"policy,omitempty"`
	Finding *Finding        `json:"finding,omitempty"`
	Pass    *IndexedPass    `json:"pass,omitempty"`
}

// appendIndex writes the pass's facts after the committed part of the
// index and syncs them; it returns the new committed size, for the state.
func (m *Monitor) appendIndex(committed int64, pass *Pass, facts *Facts) (int64, error) {
	if pass.To == pass.From && len(facts.Findings) == 0 {
		return committed, nil // nothing new to keep
	}
	path := filepath.Join(m.Dir, IndexFile)
	if err := os.MkdirAll(m.Dir, 0o700); err != nil {
		return 0, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	// Bytes past the committed size are from a pass whose state was
	// never saved: the entries are checked again now.
	if err := f.Truncate(committed); err != nil {
		return 0, err
	}
	w := bufio.NewWriter(io.NewOffsetWriter(f, committed))
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	var lines []indexLine
	for i := range facts.Releases {
		lines = append(lines, indexLine{Release: &facts.Releases[i]})
	}
	for i := range facts.Rebuilds {
		lines = append(lines, indexLine{Rebuild: &facts.Rebuilds[i]})
	}
	for i := range facts.Policies {
		lines = append(lines, indexLine{Policy: &facts.Policies[i]})
	}
	for i := range facts.Findings {
		lines = append(lines, indexLine{Finding: &facts.Findings[i]})
	}
	lines = append(lines, indexLine{Pass: &facts.Pass})
	for _, l := range lines {
		if err := enc.Encode(l); err != nil {
			return 0, err
		}
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// Saved is the monitor's committed state as a reader sees it.
type Saved struct {
	Checkpoint []byte // the last verified signed checkpoint; nil before the first pass
	IndexSize  int64  // committed bytes of the index
}

// ReadSaved reads the committed state in dir: only the two fields, since
// a reader calls it after every pass and the rest of the state grows
// with the log.
func ReadSaved(dir string) (*Saved, error) {
	path := filepath.Join(dir, "state.json")
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Saved{}, nil
	}
	if err != nil {
		return nil, err
	}
	var st struct {
		Checkpoint string `json:"checkpoint"`
		IndexSize  int64  `json:"indexSize"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s := &Saved{IndexSize: st.IndexSize}
	if st.Checkpoint != "" {
		s.Checkpoint = []byte(st.Checkpoint)
	}
	return s, nil
}

// ReadIndex reads the passes committed in dir's index between byte
// offsets from and to (a Saved.IndexSize), from being where a previous
// read stopped. A line that does not parse is an error naming its offset.
func ReadIndex(dir string, from, to int64) ([]Facts, error) {
	if to <= from {
		return nil, nil
	}
	path := filepath.Join(dir, IndexFile)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: missing, but state.json says %d bytes are committed", path, to)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(io.NewSectionReader(f, from, to-from), 1<<16)
	var out []Facts
	var cur Facts
	for off := from; off < to; {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return nil, fmt.Errorf("%s: offset %d: truncated line (%v)", path, off, err)
		}
		var l indexLine
		d := json.NewDecoder(bytes.NewReader(line))
		d.DisallowUnknownFields()
		if err := d.Decode(&l); err != nil {
			return nil, fmt.Errorf("%s: offset %d: %v", path, off, err)
		}
		off += int64(len(line))
		switch {
		case l.Release != nil:
			cur.Releases = append(cur.Releases, *l.Release)
		case l.Rebuild != nil:
			cur.Rebuilds = append(cur.Rebuilds, *l.Rebuild)
		case l.Policy != nil:
			cur.Policies = append(cur.Policies, *l.Policy)
		case l.Finding != nil:
			cur.Findings = append(cur.Findings, *l.Finding)
		case l.Pass != nil:
			cur.Pass = *l.Pass
			out = append(out, cur)
			cur = Facts{}
		default:
			return nil, fmt.Errorf("%s: offset %d: an empty line object", path, off)
		}
	}
	if len(cur.Releases)+len(cur.Rebuilds)+len(cur.Policies)+len(cur.Findings) > 0 {
		return nil, fmt.Errorf("%s: the committed part ends inside a pass", path)
	}
	return out, nil
}
