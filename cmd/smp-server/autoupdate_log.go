package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"ssms.dev/ssms/internal/atomicfile"
	"ssms.dev/ssms/internal/updatecli"
	"ssms.dev/ssms/updater"
)

// autoLog is where --auto-update says what it did: one line each, on the
// server's stderr, with the password of any URL given on the command line
// masked. A line equal to the one before it (the same release not
// installable yet, at every check) is not repeated.
type autoLog struct {
	w      io.Writer
	redact []string // URLs whose passwords must not be printed
	mu     sync.Mutex
	last   string
}

// maxLine cuts a line that quotes a long error.
const maxLine = 1000

func (l *autoLog) printf(format string, args ...any) { l.print(fmt.Sprintf(format, args...), false) }

func (l *autoLog) once(format string, args ...any) { l.print(fmt.Sprintf(format, args...), true) }

func (l *autoLog) print(line string, once bool) {
	line = l.clean(line)
	l.mu.Lock()
	defer l.mu.Unlock()
	if once && line == l.last {
		return
	}
	l.last = line
	fmt.Fprintf(l.w, "smp-server: auto-update: %s\n", line)
}

// clean makes s one line without secrets.
func (l *autoLog) clean(s string) string {
	for _, raw := range l.redact {
		if u, err := url.Parse(raw); err == nil && u.User != nil {
			if pass, ok := u.User.Password(); ok && pass != "" {
				s = strings.ReplaceAll(s, u.User.String()+"@", url.UserPassword(u.User.Username(), "xxxxx").String()+"@")
				s = strings.ReplaceAll(s, pass, "xxxxx")
			}
		}
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxLine {
		s = s[:maxLine] + "…"
	}
	return s
}

// failed logs a check or an update that failed: a refusal as a security
// event with its failure report, anything else as a failure to retry.
func (l *autoLog) failed(err error, st *updater.Status, every time.Duration) {
	var refused *updater.RefusedError
	if !errors.As(err, &refused) {
		l.printf("check failed, next one in about %v: %v", every, err)
		return
	}
	kept := "nothing"
	if st != nil && st.Running != nil {
		kept = st.Running.Version
	}
	word, _, _ := strings.Cut(updatecli.Meaning(refused.Check), ":")
	line := fmt.Sprintf("%s (%s check): %v; kept %s", word, refused.Check, err, kept)
	if refused.Report != "" {
		line += "; failure report " + refused.Report
	}
	l.printf("%s", line)
}

// tried is the release --auto-update installed last, kept in the state
// directory: when the first start of that release fails and is rolled
// back, the previous version it restarts must not install it again at its
// next check, and so on in a loop. A newer release is installed as usual.
type tried struct {
	Version  string `json:"version"`
	Sequence uint64 `json:"sequence"`
	At       string `json:"installed"`
}

const triedFile = "auto-update.json"

func readTried(stateDir string) *tried {
	b, err := os.ReadFile(filepath.Join(stateDir, triedFile))
	if err != nil {
		return nil
	}
	t := &tried{}
	if json.Unmarshal(b, t) != nil {
		return nil
	}
	return t
}

func writeTried(stateDir, version string, seq uint64) error {
	b, err := json.Marshal(tried{Version: version, Sequence: seq, At: time.Now().UTC().Format(time.RFC3339)})
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(stateDir, triedFile), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("remembering the release installed: %w", err)
	}
	return nil
}

// clearTried forgets the release tried once it runs.
func clearTried(stateDir string, st *updater.Status) {
	if t := readTried(stateDir); t != nil && st.Running != nil && st.Running.Sequence >= t.Sequence {
		os.Remove(filepath.Join(stateDir, triedFile))
	}
}
