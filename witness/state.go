package witness

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"ssms.dev/ssms/internal/atomicfile"
	"ssms.dev/ssms/translog"
)

// state keeps, per log origin, the latest checkpoint the witness cosigned,
// in DIR/logs/<sha256 of origin>, and evidence of misbehaviour in
// DIR/evidence. One mutex makes check-then-persist a compare-and-swap: two
// concurrent requests can never both pass the check against the same
// stored size (C2SP tlog-witness, the rollback race).
type state struct {
	dir string
	mu  sync.Mutex
}

func (s *state) path(origin string) string {
	sum := sha256.Sum256([]byte(origin))
	return filepath.Join(s.dir, "logs", hex.EncodeToString(sum[:]))
}

// load returns the signed checkpoint last cosigned for origin, or nil.
func (s *state) load(origin string) ([]byte, error) {
	b, err := os.ReadFile(s.path(origin))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// store persists the new latest checkpoint for origin, durably.
func (s *state) store(origin string, signed []byte) error {
	if err := os.MkdirAll(filepath.Dir(s.path(origin)), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(s.path(origin), signed, 0o600)
}

// evidence keeps what a log sent that contradicts what the witness
// cosigned: both signed checkpoints and the proof, self-contained and
// conclusive, once per pair of checkpoints (key): anyone holding the two
// checkpoints of a real fork could otherwise send them again and again.
// Evidence that does not prove the fork on its own yet is kept as
// .incomplete by incomplete (see keepEvidence).
func (s *state) evidence(e *translog.Evidence, size int64, key string) (path string, isNew bool, err error) {
	dir := filepath.Join(s.dir, "evidence")
	if kept, _ := filepath.Glob(filepath.Join(dir, "*-"+key+".evidence")); len(kept) > 0 {
		return kept[0], false, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", false, err
	}
	name := filepath.Join(dir, fmt.Sprintf("%s-%d-%s.evidence", time.Now().UTC().Format("20060102T150405.000000000Z"), size, key))
	return name, true, atomicfile.Create(name, e.Marshal(), 0o644)
}

// errTooManyIncomplete: MaxIncomplete .incomplete files are kept already.
var errTooManyIncomplete = errors.New("too many incomplete evidence files")

// incomplete keeps .incomplete evidence about the pair of checkpoints
// named key, unless a file for that pair exists (its path is returned,
// isNew false) or MaxIncomplete files do (errTooManyIncomplete). The
// caller holds s.mu, so counting and writing are one step.
func (s *state) incomplete(e *translog.Evidence, size int64, key string) (path string, isNew bool, err error) {
	dir := filepath.Join(s.dir, "evidence")
	kept, err := filepath.Glob(filepath.Join(dir, "*.incomplete"))
	if err != nil {
		return "", false, err
	}
	for _, k := range kept {
		if strings.HasSuffix(k, "-"+key+".incomplete") {
			return k, false, nil
		}
	}
	if len(kept) >= MaxIncomplete {
		return "", false, errTooManyIncomplete
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", false, err
	}
	name := filepath.Join(dir, fmt.Sprintf("%s-%d-%s.incomplete", time.Now().UTC().Format("20060102T150405.000000000Z"), size, key))
	return name, true, atomicfile.Create(name, e.Marshal(), 0o644)
}
