package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/translog"
	"ssms.dev/ssms/updater"
	"ssms.dev/ssms/updater/mirror"
	"ssms.dev/ssms/verifier"
)

type updateFlags struct {
	policy, log, product, install, state, artifact, report string
	mirrors                                                []string
	check, asJSON                                          bool
	awaitStart                                             time.Duration
}

func updateCmd() *cobra.Command {
	f := &updateFlags{}
	c := &cobra.Command{
		Use:   "update --policy P --mirror URL... --product X --install PATH",
		Short: "Install the newest verified release of a program from untrusted mirrors",
		Long: `Update the program installed at --install to the newest release of --product
that the log holds and the verifier accepts.

The log decides what "newest" is, not the mirrors: ssms fetches the log's
checkpoint, checks that a quorum of witnesses cosigned it recently
(maxCheckpointAge) and that it extends the one seen before, reads the entries
added since, and picks the newest release the policy's maintainers approved.
It then asks each --mirror in turn for that release's bundle and artifact. A
mirror that does not have it is reported as withholding it; when none has it,
that is a freeze, and the command fails. An offer is verified (signatures,
policy chain, log inclusion, rebuilds, rollback) before its artifact is
downloaded, and the download is cut at the signed size and must hash to the
signed digest.

The install is a journal in the state directory (default: PATH.ssms): whatever
interrupts it, the program at PATH is the old or the new verified version, and
the next run finishes or undoes it. The previous binary stays as
PATH.previous. Every refusal leaves the running version in place and writes a
failure report to STATE/reports (and posts it to --report, if given).

A mirror is a directory or an http(s) URL filled by "ssms mirror add".`,
		Example: `  ssms update --policy policy.json --mirror https://mirror.example/ssms --product smp-server --install /usr/local/bin/smp-server
  ssms update --policy policy.json --mirror ./mirror --product smp-server --install ./bin/smp-server --check
  ssms update ... --report http://auditor.example/api/reports --json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runUpdate(c, f) },
	}
	c.Flags().StringVar(&f.policy, "policy", "", "the pinned policy (the root of trust)")
	c.Flags().StringArrayVar(&f.mirrors, "mirror", nil, "a mirror: a directory or an http(s) URL (repeat to try several in order)")
	c.Flags().StringVar(&f.log, "log", "", "the log, or a mirror of its tiles (default: the policy's log)")
	c.Flags().StringVar(&f.product, "product", "", "the product installed at --install")
	c.Flags().StringVar(&f.artifact, "artifact", "", "the release's artifact to install (default: the one named after the product, or the only one)")
	c.Flags().StringVar(&f.install, "install", "", "the program to update (it need not exist yet)")
	c.Flags().StringVar(&f.state, "state", "", "the state directory (default: the --install path followed by .ssms)")
	c.Flags().StringVar(&f.report, "report", "", "an auditors' endpoint for failure reports, e.g. http://HOST/api/reports (best effort)")
	c.Flags().DurationVar(&f.awaitStart, "await-start", 0, "leave the install for the new version's first start to confirm, within this time (0: ssms confirms it)")
	c.Flags().BoolVar(&f.check, "check", false, "only say whether a newer release is in the log; install nothing")
	c.Flags().BoolVar(&f.asJSON, "json", false, "print the result as JSON")
	for _, name := range []string{"policy", "product", "install"} {
		c.MarkFlagRequired(name)
	}
	c.MarkFlagFilename("policy", "json")
	c.MarkFlagFilename("install")
	c.MarkFlagDirname("state")
	return c
}

func runUpdate(c *cobra.Command, f *updateFlags) error {
	if len(f.mirrors) == 0 && !f.check {
		return withHint(errors.New("no --mirror"), "give at least one mirror to download from (a directory or a URL)")
	}
	env, err := readEnvelope(f.policy)
	if err != nil {
		return err
	}
	pinned, err := verifier.Pin(env)
	if err != nil {
		return fmt.Errorf("%s: %w", f.policy, err)
	}
	logc, err := updateLog(pinned, f.log)
	if err != nil {
		return err
	}
	path, err := filepath.Abs(f.install)
	if err != nil {
		return err
	}
	if f.state == "" {
		f.state = path + ".ssms"
	}
	u := &updater.Updater{
		Product: f.product, Artifact: f.artifact, Path: path, StateDir: f.state, Pinned: pinned, Log: logc,
		Report: f.report, Progress: c.ErrOrStderr(), AwaitStart: f.awaitStart,
	}
	for _, m := range f.mirrors {
		u.Mirrors = append(u.Mirrors, &mirror.Client{Base: m, Progress: c.ErrOrStderr()})
	}
	ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt)
	defer stop()
	run := u.Update
	if f.check {
		run = u.Check
	}
	st, err := run(ctx)
	if st != nil {
		for _, w := range st.Warnings {
			fmt.Fprintf(c.ErrOrStderr(), "ssms: warning: %s\n", w)
		}
	}
	if err != nil {
		return updateRefused(err)
	}
	if f.asJSON {
		return printJSON(c, updateSummary(st, f.check))
	}
	printUpdate(c, st, f.check)
	return nil
}

// updateLog is a client for the log at url (default: the policy's only
// log with a URL), under the policy's key for it: a tile mirror at another
// URL of the policy's only log is read under that log's key.
func updateLog(p *policies.Policy, url string) (*translog.Client, error) {
	if url == "" {
		for _, l := range p.Logs {
			if l.URL != "" {
				if url != "" {
					return nil, withHint(errors.New("the policy names several logs"), "choose one with --log URL")
				}
				url = l.URL
			}
		}
		if url == "" {
			return nil, withHint(errors.New("the policy gives no log URL"), "pass the log's (or a tile mirror's) URL with --log")
		}
	}
	vkey := logKeyFor(p, url)
	if vkey == "" && len(p.Logs) == 1 {
		vkey = p.Logs[0].VKey
	}
	return logClient(p, url, vkey)
}

// updateRefused explains a failed update, in the spirit of Go's SECURITY
// ERROR: what it may mean, and what to do.
func updateRefused(err error) error {
	var refused *updater.RefusedError
	if !errors.As(err, &refused) {
		if errors.Is(err, updater.ErrUnconfirmed) {
			return withHint(err, "the new version confirms itself when it starts and passes its self-check")
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
	var meaning string
	switch refused.Check {
	case "freeze", "withheld":
		meaning = "SECURITY WARNING: the log holds a newer release than any mirror serves. The mirrors may be slow, or may be hiding a security fix from you (a freeze attack)."
	case "fork":
		meaning = "SECURITY ERROR: the log showed this client two histories that cannot both be true. Someone may be showing you a release others cannot see."
	case "stale", "quorum":
		meaning = "SECURITY ERROR: this client could not get a recent view of the log that its witnesses vouch for. The log, or the network in between, may be holding you on an old view."
	default:
		meaning = "SECURITY ERROR: the update offered failed a check. The mirror or the network may be serving a tampered or replayed release."
	}
	return withHint(err, meaning+" The running version was kept; do not install this release by hand."+where+" Report it to the project's auditors with the report file.")
}

// updated is the --json result.
type updated struct {
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

func updateSummary(st *updater.Status, check bool) updated {
	u := updated{Product: st.Product, Checked: check, Reports: st.Reports}
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
		u.Installed, u.Mirror = st.Installed.Release.Predicate.Version, st.Mirror
	}
	if st.NotYet != nil {
		u.NotYet = st.NotYet.Error()
	}
	if st.Checkpoint != nil {
		u.Checkpoint = st.Checkpoint.Size
	}
	return u
}

func printUpdate(c *cobra.Command, st *updater.Status, check bool) {
	out := c.OutOrStdout()
	running := "nothing"
	if st.Running != nil {
		running = st.Running.Version
	}
	switch {
	case st.Installed != nil:
		r := st.Installed
		fmt.Fprintf(out, "installed %s %s (was: %s) from %s\n  signed by %v, log entry %d, rebuilt by %v\n",
			st.Product, r.Release.Predicate.Version, running, st.Mirror, r.Signers, r.Index, r.Rebuilders)
	case st.NotYet != nil:
		fmt.Fprintf(out, "%s %s is in the log but cannot be installed yet: %v\nkept: %s\n", st.Product, st.Newest.Version, st.NotYet, running)
	case st.Newest != nil && check:
		fmt.Fprintf(out, "%s %s is in the log (entry %d); installed: %s\n", st.Product, st.Newest.Version, st.Newest.Index, running)
	default:
		fmt.Fprintf(out, "%s is up to date: %s (log checked at size %d)\n", st.Product, running, st.Checkpoint.Size)
	}
}
