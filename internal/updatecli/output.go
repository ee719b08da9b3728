package updatecli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"ssms.dev/ssms/internal/clierr"
	"ssms.dev/ssms/updater"
	"ssms.dev/ssms/updater/mirror"
)

// Refused explains a failed update, in the spirit of Go's SECURITY
// ERROR: what it may mean, and what to do.
func Refused(err error) error {
	var refused *updater.RefusedError
	if !errors.As(err, &refused) {
		if errors.Is(err, updater.ErrUnconfirmed) {
			return clierr.Hint(err, "the new version confirms itself when it starts and passes its self-check")
		}
		return err
	}
	where := ""
	if refused.Report != "" {
		where = fmt.Sprintf(" The failure report is %s.", refused.Report)
	}
	if refused.Evidence != "" {
		where += fmt.Sprintf(" The evidence of the fork is %s: anyone can check it with ssms verify-evidence.", refused.Evidence)
	}
	return clierr.Hint(err, Meaning(refused.Check)+" The running version was kept; do not install this release by hand."+where+" Report it to the project's auditors with the report file.")
}

// Meaning is what a refusal of check (one of report.Checks) may mean.
func Meaning(check string) string {
	switch check {
	case "freeze", "withheld":
		return "SECURITY WARNING: the log holds a newer release than any mirror serves. The mirrors may be slow, or may be hiding a security fix from you (a freeze attack)."
	case "fork":
		return "SECURITY ERROR: the log showed this client two histories that cannot both be true. Someone may be showing you a release others cannot see."
	case "stale", "quorum":
		return "SECURITY ERROR: this client could not get a recent view of the log that its witnesses vouch for. The log, or the network in between, may be holding you on an old view."
	}
	return "SECURITY ERROR: the update offered failed a check. The mirror or the network may be serving a tampered or replayed release."
}

// Summary is the --json result.
type Summary struct {
	Product    string   `json:"product"`
	Running    string   `json:"running,omitempty"`
	Newest     string   `json:"newest,omitempty"`
	Installed  string   `json:"installed,omitempty"`
	Mirror     string   `json:"mirror,omitempty"`
	NotYet     string   `json:"notYet,omitempty"`
	Checkpoint int64    `json:"checkpointSize"`
	Checked    bool     `json:"checkOnly"`
	Reports    []string `json:"reports"`
}

// Summarize is st as --json prints it; check says it was a check only.
func Summarize(st *updater.Status, check bool) Summary {
	u := Summary{Product: st.Product, Checked: check, Reports: st.Reports}
	if u.Reports == nil {
		u.Reports = []string{}
	}
	if st.Running != nil {
		u.Running = st.Running.Version
	}
	if st.Newest != nil {
		u.Newest = st.Newest.Version
	}
	if st.Installed != nil {
		u.Installed, u.Mirror = st.Installed.Release.Predicate.Version, mirror.Redact(st.Mirror)
	}
	if st.NotYet != nil {
		u.NotYet = st.NotYet.Error()
	}
	if st.Checkpoint != nil {
		u.Checkpoint = st.Checkpoint.Size
	}
	return u
}

// Print writes what an update (a check only, if check) found and did.
func Print(out io.Writer, st *updater.Status, check bool) {
	running := "nothing"
	if st.Running != nil {
		running = st.Running.Version
	}
	switch {
	case st.Installed != nil:
		r := st.Installed
		fmt.Fprintf(out, "installed %s %s (was: %s) from %s\n  signed by %v, log entry %d, rebuilt by %v\n",
			st.Product, r.Release.Predicate.Version, running, mirror.Redact(st.Mirror), r.Signers, r.Index, r.Rebuilders)
	case st.NotYet != nil:
		fmt.Fprintf(out, "%s %s is in the log but cannot be installed yet: %v\nkept: %s\n", st.Product, st.Newest.Version, st.NotYet, running)
	case st.Newest != nil && check:
		fmt.Fprintf(out, "%s %s is in the log (entry %d); installed: %s\n", st.Product, st.Newest.Version, st.Newest.Index, running)
	default:
		fmt.Fprintf(out, "%s is up to date: %s (log checked at size %d)\n", st.Product, running, st.Checkpoint.Size)
	}
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
