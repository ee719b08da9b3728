package rebuild

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/translog"
)

// The retry policy for a release that cannot be rebuilt (its source cannot
// be fetched, its recipe fails or outlasts the timeout): it is recorded in
// follow.json and passed over, so that it never holds up the releases
// after it; it is tried again at most DefaultAttempts times in all, each
// attempt at least DefaultRetryAfter after the last, and then given up.
// An hour apart rides out a source host's or the network's bad hour at
// the cost of three builds per bad release; a release given up can still
// be rebuilt by hand with "ssms rebuild RELEASE.json --log URL".
const (
	DefaultAttempts   = 3
	DefaultRetryAfter = time.Hour
	// DefaultTimeout bounds one rebuild: a recipe (or a source host) that
	// never finishes would otherwise hold the follower for ever.
	DefaultTimeout = 2 * time.Hour
)

// maxErrorLen bounds the error kept in follow.json and reported: it can
// carry a remote git server's message, of any length.
const maxErrorLen = 1000

// Failure is a release that could not be rebuilt, as follow.json keeps it.
// A mismatch is not a failure: it is an outcome, and final.
type Failure struct {
	Entry    int64  `json:"entry"` // the first entry carrying the release
	Product  string `json:"product"`
	Version  string `json:"version"`
	Attempts int    `json:"attempts"`
	Last     string `json:"last"`  // when the last attempt failed
	Error    string `json:"error"` // why it failed
	// GaveUp means the attempts are exhausted: the release is not tried
	// again unless its entry is deleted from follow.json.
	GaveUp bool `json:"gaveUp,omitempty"`
}

func (f *Follower) attempts() int {
	if f.Attempts > 0 {
		return f.Attempts
	}
	return DefaultAttempts
}

func (f *Follower) retryAfter() time.Duration {
	if f.RetryAfter > 0 {
		return f.RetryAfter
	}
	return DefaultRetryAfter
}

func (f *Follower) timeout() time.Duration {
	if f.Timeout > 0 {
		return f.Timeout
	}
	return DefaultTimeout
}

func (f *Follower) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// due reports whether a failed release may be tried again now.
func (f *Follower) due(fl *Failure) bool {
	if fl.GaveUp {
		return false
	}
	last, err := time.Parse(manifest.TimeFormat, fl.Last)
	return err != nil || !f.now().Before(last.Add(f.retryAfter()))
}

// fail records a failed attempt at the release of entry index, and reports it.
func (f *Follower) fail(st *followState, ref string, index int64, p *manifest.ReleasePredicate, cause error, pass *FollowPass) {
	if st.Failed == nil {
		st.Failed = map[string]*Failure{}
	}
	fl := st.Failed[ref]
	if fl == nil {
		fl = &Failure{Entry: index, Product: p.Product, Version: p.Version}
		st.Failed[ref] = fl
	}
	fl.Attempts++
	fl.Last = manifest.FormatTime(f.now())
	fl.Error = cleanError(cause)
	fl.GaveUp = fl.Attempts >= f.attempts()
	pass.Failed = append(pass.Failed, *fl)
	if fl.GaveUp {
		fmt.Fprintf(f.Report, "entry %d: %s %s: FAILED, attempt %d of %d, given up: %s\n", index, p.Product, p.Version, fl.Attempts, f.attempts(), fl.Error)
	} else {
		fmt.Fprintf(f.Report, "entry %d: %s %s: FAILED, attempt %d of %d, next no sooner than %s: %s\n", index, p.Product, p.Version, fl.Attempts, f.attempts(), manifest.FormatTime(f.now().Add(f.retryAfter())), fl.Error)
	}
}

// retry tries again, in log order, each failed release that is due, and
// resubmits the attestation of one rebuilt on a retry whose submission
// failed. Its entry is read again from the log, against cp.
func (f *Follower) retry(ctx context.Context, st *followState, cp translog.Checkpoint, pass *FollowPass) error {
	var due []int64
	for ref, fl := range st.Failed {
		if first, ok := st.Rebuilt[ref]; (ok && first == fl.Entry) || f.due(fl) {
			due = append(due, fl.Entry)
		}
	}
	slices.Sort(due)
	for _, index := range due {
		entries, err := f.Log.Entries(ctx, index, index+1, cp)
		if err != nil {
			return err
		}
		if err := f.handle(ctx, st, index, entries[0], pass); err != nil {
			return fmt.Errorf("entry %d: %w", index, err)
		}
		if err := f.save(st); err != nil {
			return err
		}
	}
	return nil
}

// cleanError is err's message on one line of printable characters, cut
// short: it goes to a terminal and a state file.
func cleanError(err error) string {
	s := strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, err.Error())
	if len(s) > maxErrorLen {
		s = strings.ToValidUTF8(s[:maxErrorLen], "") + "..."
	}
	return s
}
