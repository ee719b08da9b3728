package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"ssms.dev/ssms/internal/clierr"
	"ssms.dev/ssms/internal/startcheck"
	"ssms.dev/ssms/internal/updatecli"
	"ssms.dev/ssms/updater"
)

// autoConfirmWithin is how long an install made by --auto-update waits for
// the new version's first start to confirm it: past it, the next start
// rolls it back.
const autoConfirmWithin = 10 * time.Minute

// minAutoUpdate is the shortest --auto-update: below it the flag is a typo.
const minAutoUpdate = time.Second

// autoUpdate is start's --auto-update: a goroutine that checks the log
// every interval (with jitter) for a newer release of smp-server, installs
// it from the mirrors as `smp-server update --await-start` does, and then
// has the server stop as on SIGTERM (listeners, connections, store log and
// directory lock closed) and exec the new binary with the same arguments.
// The new process's start-up check confirms the install, or rolls it back
// and execs the previous version again.
type autoUpdate struct {
	every time.Duration
	src   updatecli.Flags // --mirror, --log, --report
	chk   *startcheck.Options
	log   *autoLog
}

// withAutoUpdate gives start its --auto-update flags and wraps its RunE,
// which must take its context from the command: a cancel is a restart.
func withAutoUpdate(start *cobra.Command, chk *startcheck.Options) *cobra.Command {
	a := &autoUpdate{chk: chk}
	fs := start.Flags()
	fs.DurationVar(&a.every, "auto-update", 0, "check for a newer verified release this often (with jitter), install it and restart into it (needs --mirror)")
	a.src.AddSource(fs)
	start.Long += `

With --auto-update INTERVAL and at least one --mirror, the server checks the
log every INTERVAL (give or take a tenth) for a newer release of smp-server,
installs it as "smp-server update" does, stops as on SIGTERM (listeners,
connections, store log closed: queues and persisted messages are on disk)
and restarts into it with the same arguments. The new version's first start
confirms the install; if its self-check fails it is rolled back and the
previous version restarts, and does not install that release again. A
refusal (a tampered, withheld or replayed release) is one line on stderr and
a failure report in the state directory (posted to --report, if given); the
running version keeps serving.`
	start.Example += "\n  smp-server start --dir /var/lib/smp --auto-update 6h --mirror https://mirror.example/ssms"
	serve := start.RunE
	start.RunE = func(c *cobra.Command, args []string) error { return a.run(c, args, serve) }
	return start
}

// checkFlags refuses flags that do not go together, before anything starts.
func (a *autoUpdate) checkFlags() error {
	switch {
	case a.every == 0 && (len(a.src.Mirrors) > 0 || a.src.Log != "" || a.src.Report != ""):
		return clierr.Hint(errors.New("--mirror, --log and --report are for --auto-update"), "add --auto-update INTERVAL, e.g. --auto-update 6h")
	case a.every == 0:
		return nil
	case a.every < minAutoUpdate:
		return clierr.Hint(fmt.Errorf("--auto-update %v: too short", a.every), "give an interval of at least a second, e.g. --auto-update 6h")
	case len(a.src.Mirrors) == 0:
		return clierr.Hint(errors.New("--auto-update without --mirror"), "give at least one mirror to download from (a directory or a URL)")
	}
	return nil
}

// run serves, with a goroutine that checks for updates; after an install
// it execs the new binary once the server has stopped.
func (a *autoUpdate) run(c *cobra.Command, args []string, serve func(*cobra.Command, []string) error) error {
	if err := a.checkFlags(); err != nil {
		return err
	}
	if a.every == 0 {
		return serve(c, args)
	}
	// Now, before anything is installed: once an install has renamed the
	// running file, this process's executable is PATH.previous.
	path, err := updater.Executable()
	if err != nil {
		return err
	}
	a.log = &autoLog{w: c.ErrOrStderr(), redact: append([]string{a.src.Log, a.src.Report}, a.src.Mirrors...)}
	if persist, _ := c.Flags().GetBool("persist-messages"); !persist {
		a.log.printf("warning: without --persist-messages, undelivered messages are held in memory only, and a restart into an update drops them")
	}
	// A stop asked for while an update installs is a stop, not a restart.
	stopping := make(chan os.Signal, 1)
	signal.Notify(stopping, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(stopping)
	ctx, restart := context.WithCancel(c.Context())
	defer restart()
	c.SetContext(ctx)
	installed := make(chan *installedAt, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if in := a.loop(ctx, path); in != nil {
			installed <- in
			restart()
		}
	}()
	err = serve(c, args)
	restart()
	<-done
	if err != nil {
		return err
	}
	select {
	case in := <-installed:
		select {
		case <-stopping:
			a.log.printf("stopped as asked; %s is installed and its next start confirms it", in.version)
			return nil
		default:
		}
		a.log.printf("restarting into %s", in.path)
		err := syscall.Exec(in.path, os.Args, os.Environ())
		return clierr.Hint(fmt.Errorf("restarting into %s: %w", in.path, err), "start "+in.path+" again: its first start confirms the update")
	default:
		return nil
	}
}

// installedAt is a release installed, to restart into.
type installedAt struct{ path, version string }

// updater is the updater of the executable at path. It is made at the first
// check, after the start-up check: the first start of a new version must
// confirm or roll back its install before anything of it can fail.
func (a *autoUpdate) updater(path string) (*updater.Updater, error) {
	pinned, err := a.chk.Pinned()
	if err != nil {
		return nil, err
	}
	f := a.src
	f.Install, f.Product, f.State, f.AwaitStart = path, a.chk.Product, a.chk.StateDir(), autoConfirmWithin
	return f.Updater(pinned, nil)
}

// loop checks every interval until ctx ends or a release is installed,
// which it returns. An updater that cannot be made (a policy that names
// no log URL, and no --log) turns auto-update off, not the server.
func (a *autoUpdate) loop(ctx context.Context, path string) *installedAt {
	var u *updater.Updater
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(jitter(a.every)):
		}
		if u == nil {
			var err error
			if u, err = a.updater(path); err != nil {
				a.log.printf("off: %v", err)
				return nil
			}
		}
		if st := a.once(ctx, u); st != nil {
			return &installedAt{path: u.Path, version: st.Installed.Release.Predicate.Version}
		}
	}
}

// jitter is d give or take a tenth, so that servers started together do
// not all ask the log and the mirrors at the same moment.
func jitter(d time.Duration) time.Duration {
	return d - d/10 + rand.N(d/5+1)
}

// once is one check, and an install if there is a newer release that was
// not tried and rolled back already. Every outcome but "up to date" is one
// line on stderr.
func (a *autoUpdate) once(ctx context.Context, u *updater.Updater) *updater.Status {
	st, err := u.Check(ctx)
	a.warnings(st)
	if ctx.Err() != nil {
		return nil // stopping
	}
	if err != nil {
		a.log.failed(err, st, a.every)
		return nil
	}
	switch {
	case st.Newest == nil:
		clearTried(u.StateDir, st)
		return nil
	case st.Running == nil:
		a.log.once("%s %s is in the log, but this binary is not a verified install: --auto-update installs nothing until ssms update or smp-server update has", st.Product, st.Newest.Version)
		return nil
	}
	if t := readTried(u.StateDir); t != nil && t.Sequence == st.Newest.Sequence {
		a.log.once("%s %s was installed at %s and rolled back: its first start failed; waiting for a newer release", st.Product, t.Version, t.At)
		return nil
	}
	st, err = u.Update(ctx)
	a.warnings(st)
	switch {
	case err != nil && ctx.Err() != nil:
		return nil
	case err != nil:
		a.log.failed(err, st, a.every)
		return nil
	case st.NotYet != nil:
		a.log.once("%s %s is in the log but cannot be installed yet: %v", st.Product, st.Newest.Version, st.NotYet)
		return nil
	case st.Installed == nil:
		return nil
	}
	r := st.Installed.Release.Predicate
	if err := writeTried(u.StateDir, r.Version, r.Sequence); err != nil {
		a.log.printf("warning: %v (a failed start of %s would be tried again)", err, r.Version)
	}
	a.log.printf("installed %s %s (was: %s) from %s, log entry %d", st.Product, r.Version, st.Running.Version, a.log.clean(st.Mirror), st.Installed.Index)
	return st
}

func (a *autoUpdate) warnings(st *updater.Status) {
	if st == nil {
		return
	}
	for _, w := range st.Warnings {
		a.log.printf("warning: %s", w)
	}
}
