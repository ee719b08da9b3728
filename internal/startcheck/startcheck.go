// Package startcheck is the command-line side of the start-up self-check
// (updater.Start) that smp-server and smp-client run before they serve or
// send: the flags --allow-unverified, --policy and the state directory,
// the error and hint when the check fails, the warning when a development
// build runs anyway, the re-exec of the previous version after a
// roll-back, and the verification line of --version.
//
// The pinned policy is the project's, embedded in the binary
// (policies.DefaultEnvelope), unless --policy FILE (or $SSMS_POLICY)
// names a deployment's own. The state directory is PATH.ssms beside the
// installed binary (updater.DefaultStateDir) unless the state flag (or
// $SSMS_STATE) names another. docs/verify-before-run.md explains both.
package startcheck

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/spf13/cobra"

	"ssms.dev/ssms/internal/capped"
	"ssms.dev/ssms/internal/clierr"
	"ssms.dev/ssms/internal/dirlock"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/updater"
	"ssms.dev/ssms/verifier"
	"ssms.dev/ssms/verifier/statedir"
)

// Environment variables that stand for the flags.
const (
	PolicyEnv = "SSMS_POLICY"
	StateEnv  = "SSMS_STATE"
)

// executable is updater.Executable; tests replace it.
var executable = updater.Executable

// Options are the self-check flags of one program.
type Options struct {
	Prog    string // the program's name in messages: "smp-server"
	Product string // its product in the policy: "smp-server"
	// StateFlag is the name of the state directory flag: "state", or
	// "install-state" where --state already means something else.
	StateFlag       string
	AllowUnverified bool
	Policy          string
	State           string
	// exec replaces the process with the previous version after a
	// roll-back; tests replace it.
	exec func(path string, args, env []string) error
}

// AddFlags adds the flags to c: persistent ones when persistent, so that
// every subcommand takes them.
func (o *Options) AddFlags(c *cobra.Command, persistent bool) {
	f := c.Flags()
	if persistent {
		f = c.PersistentFlags()
	}
	f.BoolVar(&o.AllowUnverified, "allow-unverified", false, "run even if this binary is not a verified install (a development build), with a warning")
	o.AddPinFlags(f)
}

func (o *Options) stateFlag() string {
	if o.StateFlag == "" {
		return "state"
	}
	return o.StateFlag
}

// check is the updater.Check the options describe.
func (o *Options) check() (updater.Check, error) {
	pinned, err := o.pinned()
	if err != nil {
		return updater.Check{}, err
	}
	return updater.Check{Product: o.Product, Pinned: pinned, StateDir: o.StateDir()}, nil
}

// pinned reads the policy to pin: --policy, $SSMS_POLICY, or the
// project's embedded policy.
func (o *Options) pinned() (*policies.Policy, error) {
	file, what := o.Policy, "--policy"
	if file == "" {
		file, what = os.Getenv(PolicyEnv), PolicyEnv
	}
	if file == "" {
		env, err := policies.DefaultEnvelope()
		if err != nil {
			return nil, fmt.Errorf("the embedded project policy: %w", err)
		}
		return verifier.Pin(env)
	}
	b, err := capped.ReadFile(file, manifest.MaxEnvelopeSize)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, file, err)
	}
	env, err := manifest.ParseEnvelope(b)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, file, err)
	}
	p, err := verifier.Pin(env)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, file, err)
	}
	return p, nil
}

// Run is the check a program makes before it serves or sends. It returns
// nil when the binary verified (and confirms its install if this is its
// first start), or when it did not but --allow-unverified was given, after
// a warning on stderr; otherwise an error with a hint. After a roll-back
// it execs the previous version, with the same arguments, and does not
// return unless that fails.
func (o *Options) Run(stderr io.Writer) error {
	c, err := o.check()
	if err != nil {
		return clierr.Hint(err, policyHint)
	}
	v, err := updater.Start(c)
	if errors.Is(err, updater.ErrRolledBack) {
		return o.restart(stderr, err)
	}
	if err != nil && o.AllowUnverified {
		fmt.Fprintf(stderr, "%s: WARNING: running an unverified build: %v\n", o.Prog, err)
		fmt.Fprintf(stderr, "%s: WARNING: nothing checked that this binary is a release the policy approved, in the log, rebuilt by others\n", o.Prog)
		return nil
	}
	if err != nil {
		return clierr.Hint(fmt.Errorf("refusing to run: %w", err), o.hint(err))
	}
	if v.Confirmed {
		fmt.Fprintf(stderr, "%s: %s %s passed its self-check: install confirmed\n", o.Prog, v.Product, v.Version)
	}
	return nil
}

// restart execs the version a roll-back put back at PATH.
func (o *Options) restart(stderr io.Writer, why error) error {
	fmt.Fprintf(stderr, "%s: error: %v\n", o.Prog, why)
	path, err := executable()
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); err != nil {
		// A first install rolled back leaves no binary at PATH.
		return clierr.Hint(fmt.Errorf("no previous version to restart: %w", err), "this was the first install at "+path+"; install a verified build again with ssms update")
	}
	fmt.Fprintf(stderr, "%s: restarting the previous version, %s\n", o.Prog, path)
	exec := o.exec
	if exec == nil {
		exec = syscall.Exec
	}
	if err := exec(path, os.Args, os.Environ()); err != nil {
		return clierr.Hint(fmt.Errorf("restarting %s: %w", path, err), "start "+path+" again: it is the previous version")
	}
	return nil
}

// hint says what to do about a failed check.
func (o *Options) hint(err error) string {
	path, perr := updater.Executable()
	if perr != nil {
		path = "PATH"
	}
	install := fmt.Sprintf("install a verified build with `ssms update --product %s --install %s --mirror URL --log URL` (see docs/verify-before-run.md)", o.Product, path)
	dev := "or pass --allow-unverified to run a development build"
	switch {
	case errors.Is(err, dirlock.ErrInUse):
		return "an update holds the state directory; start again once it has finished"
	case errors.Is(err, updater.ErrNotInstalled):
		return install + ", " + dev + "; if it was installed with another state directory, pass --" + o.stateFlag()
	case errors.Is(err, updater.ErrNotInstalledRelease):
		// Not a development build's problem: never suggest running it.
		return "the file at " + path + " is not the release that was installed: it was changed or replaced after its install. If you did not replace it yourself, do not run it, and look at how it changed; " + install
	case errors.Is(err, statedir.ErrNotOwner):
		return "run it as the user that owns the state directory, and make it writable by that user alone"
	case errors.Is(err, verifier.ErrStateCorrupt), errors.Is(err, statedir.ErrBundleMissing):
		return "the state directory is damaged (which is not in itself an attack): restore it from a backup, or " + install
	case errors.Is(err, updater.ErrSelfCheck):
		return "the installed release does not verify under the pinned policy (--policy, or the project's): if you changed the pinned policy, install again under it with ssms update; otherwise the state directory may have been tampered with: check it before running"
	}
	return dev
}
