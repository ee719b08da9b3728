// Package updatecli is the update command the programs share: `ssms
// update`, `smp-server update` and `smp-client update` (and `smp-server
// start --auto-update`, which builds its updater the same way). It turns
// the flags into an updater.Updater, runs it, prints the result for
// people or as JSON, and explains a refusal in the spirit of Go's
// SECURITY ERROR: what it may mean and what to do.
//
// What differs between the programs stays with them: ssms takes the
// pinned policy from --policy, the SMP programs from --policy,
// $SSMS_POLICY or the policy they embed (package internal/startcheck),
// and default --product and --install to themselves.
package updatecli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"ssms.dev/ssms/internal/clierr"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/translog"
	"ssms.dev/ssms/updater"
	"ssms.dev/ssms/updater/mirror"
)

// DefaultFreezeGrace gives mirrors a working day to copy a release: a
// freeze shorter than that is not told from a slow mirror.
const DefaultFreezeGrace = 24 * time.Hour

// Flags are an update's settings, as the flags give them.
type Flags struct {
	Policy     string // the pinned policy's file (ssms only)
	Mirrors    []string
	Log        string // "" is the policy's log
	Product    string
	Artifact   string
	Install    string // the program to update
	State      string // "" is updater.DefaultStateDir(Install)
	Report     string // an auditors' endpoint for failure reports
	AwaitStart time.Duration
	// FreezeGrace is how long the newest release may be in the log before
	// mirrors without it are reported (updater.Updater.FreezeGrace).
	FreezeGrace time.Duration
	// Timeout bounds the whole run (updater.Updater.Timeout; 0 is
	// updater.DefaultTimeout).
	Timeout time.Duration
	Check   bool
	JSON    bool
}

// AddSource adds the flags that say where updates come from and where
// failure reports go: --mirror, --log and --report.
func (f *Flags) AddSource(fs *pflag.FlagSet) {
	fs.StringArrayVar(&f.Mirrors, "mirror", nil, "a mirror: a directory, a file:// URL or an http(s) URL (repeat to try several in order)")
	fs.StringVar(&f.Log, "log", "", "the log, or a mirror of its tiles (default: the policy's log)")
	fs.StringVar(&f.Report, "report", "", "an auditors' endpoint for failure reports, e.g. http://HOST/api/reports (best effort)")
	fs.DurationVar(&f.FreezeGrace, "freeze-grace", DefaultFreezeGrace, "how long the newest release may be in the log, on no mirror, before that is reported as a freeze (0: at once)")
}

// AddTimeout adds --timeout, the whole run's deadline.
func (f *Flags) AddTimeout(fs *pflag.FlagSet) {
	fs.DurationVar(&f.Timeout, "timeout", updater.DefaultTimeout, "stop the run after this long, downloads included, and keep the running version (raise it for a large artifact on a slow link)")
}

// NeedMirror is the error of an install with no mirror to download from.
func (f *Flags) NeedMirror() error {
	if len(f.Mirrors) == 0 && !f.Check {
		return clierr.Hint(errors.New("no --mirror"), "give at least one mirror to download from (a directory or a URL)")
	}
	return nil
}

// Updater is the updater the flags describe, under the pinned policy;
// download bars go to progress when it is a terminal.
func (f *Flags) Updater(pinned *policies.Policy, progress io.Writer) (*updater.Updater, error) {
	logc, err := LogClient(pinned, f.Log)
	if err != nil {
		return nil, err
	}
	if f.Timeout < 0 {
		return nil, clierr.Hint(fmt.Errorf("--timeout %v: negative", f.Timeout), "give how long a run may take, e.g. --timeout 30m")
	}
	var mirrors []*mirror.Client
	for _, m := range f.Mirrors {
		base, err := mirror.ParseBase(m)
		if err != nil {
			return nil, clierr.Hint(fmt.Errorf("--mirror: %w", err), "a mirror is a directory, a file:///ABSOLUTE/PATH, or an http:// or https:// URL")
		}
		mirrors = append(mirrors, &mirror.Client{Base: base, Progress: progress})
	}
	path, err := filepath.Abs(f.Install)
	if err != nil {
		return nil, err
	}
	state := f.State
	if state == "" {
		state = updater.DefaultStateDir(path)
	}
	u := &updater.Updater{
		Product: f.Product, Artifact: f.Artifact, Path: path, StateDir: state, Pinned: pinned, Log: logc,
		Report: f.Report, Progress: progress, AwaitStart: f.AwaitStart, FreezeGrace: f.FreezeGrace,
		Timeout: f.Timeout, Mirrors: mirrors,
	}
	return u, nil
}

// Run runs u, a check only if f.Check, and prints what it found and did
// on c's output (JSON if f.JSON), warnings on its error output as prog's.
// An interrupt stops it; the install journal keeps PATH whole.
func (f *Flags) Run(c *cobra.Command, prog string, u *updater.Updater) error {
	ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt)
	defer stop()
	run := u.Update
	if f.Check {
		run = u.Check
	}
	st, err := run(ctx)
	if st != nil {
		for _, w := range st.Warnings {
			fmt.Fprintf(c.ErrOrStderr(), "%s: warning: %s\n", prog, w)
		}
	}
	if err != nil {
		return Refused(err)
	}
	if f.JSON {
		return printJSON(c.OutOrStdout(), Summarize(st, f.Check))
	}
	Print(c.OutOrStdout(), st, f.Check)
	return nil
}

// LogClient is a client for the log at url (default: the policy's only
// log with a URL), under the policy's key for it: a tile mirror at another
// URL of the policy's only log is read under that log's key.
func LogClient(p *policies.Policy, url string) (*translog.Client, error) {
	if url == "" {
		for _, l := range p.Logs {
			if l.URL != "" {
				if url != "" {
					return nil, clierr.Hint(errors.New("the policy names several logs"), "choose one with --log URL")
				}
				url = l.URL
			}
		}
		if url == "" {
			return nil, clierr.Hint(errors.New("the policy gives no log URL"), "pass the log's (or a tile mirror's) URL with --log")
		}
	}
	vkey := p.LogVKey(url)
	if vkey == "" && len(p.Logs) == 1 {
		vkey = p.Logs[0].VKey
	}
	if vkey == "" {
		return nil, clierr.Hint(fmt.Errorf("the policy lists no log at %s", url),
			"pass the log's verifier key with --vkey, or add the log to the policy (--log VKEY=URL)")
	}
	return translog.NewClient(url, vkey)
}
