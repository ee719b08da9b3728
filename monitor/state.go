package monitor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"ssms.dev/ssms/internal/atomicfile"
)

// state is what the monitor remembers between runs, in DIR/state.json,
// replaced atomically after each pass.
type state struct {
	Checkpoint string                       `json:"checkpoint"` // the last verified, signed
	Policies   [][]byte                     `json:"policies"`   // accepted rotations after the pinned policy, as logged
	Releases   map[string]map[string]record `json:"releases"`   // product → version → first release
	BySequence map[string]map[uint64]record `json:"bySequence"` // product → sequence → first release
	Last       map[string]uint64            `json:"last"`       // product → highest sequence seen
	Awaiting   map[string]*awaiting         `json:"awaiting"`   // release reference → rebuilds so far, until the threshold
	IndexSize  int64                        `json:"indexSize"`  // committed bytes of DIR/index.jsonl
	Repeated   string                       `json:"repeated"`   // digest of the alerts of the last pass committed to the index
}

type record struct {
	Index  int64  `json:"index"`
	Digest string `json:"digest"` // SHA-256 of the statement payload
}

func loadState(dir string) (*state, error) {
	s := &state{Releases: map[string]map[string]record{}, BySequence: map[string]map[uint64]record{}, Last: map[string]uint64{}, Awaiting: map[string]*awaiting{}}
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "state.json"), err)
	}
	if s.Awaiting == nil { // state written before rebuilds were tracked
		s.Awaiting = map[string]*awaiting{}
	}
	return s, nil
}

func (s *state) save(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, "state.json"), b, 0o600)
}
