// Package sandbox runs a command that is not trusted (a release's build)
// so that it can do nothing but read the toolchain and its inputs and
// write its own directory: with bubblewrap (bwrap), in new namespaces with
// no network and its own process IDs, as the unprivileged uid 65534 when
// started by root, a throwaway home and /tmp, only the
// paths named bound in (the inputs read-only), an environment of only the
// variables given, resource limits (prlimit) and a time limit; and when it
// ends, on success too, every process it started is killed.
//
// Call Available first: bwrap may be installed and still not work (in a
// container without user namespaces). Without a sandbox, Config.Unsandboxed
// runs the command with the same environment, limits, time limit and
// process-group kill, which stops mistakes but not an attacker.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Config is one sandboxed command.
type Config struct {
	Argv     []string // the command; Argv[0] is looked up in the sandbox's PATH
	Env      []string // its whole environment, KEY=VALUE
	Dir      string   // working directory; must be one of Writable or ReadOnly
	ReadOnly []string // host paths bound read-only at the same path
	Writable []string // host paths bound read-write at the same path
	// Protect are host paths bound read-only after the Writable ones, so
	// also inside them: a checkout's .git, whose hooks and configuration
	// git on the host obeys. They must exist.
	Protect []string
	Home    string // HOME inside the sandbox, on its /tmp (default /tmp/home)
	// Tmp is a host directory bound as /tmp, so that what the command
	// writes there counts against the disk (and its limits), not memory;
	// "" means a tmpfs.
	Tmp     string
	Timeout time.Duration
	Limits  Limits
	Stdout  io.Writer
	Stderr  io.Writer

	// Unsandboxed runs without bwrap, with everything else the same. It
	// is for hosts with no sandbox, when the user said so.
	Unsandboxed bool
}

// ErrTimeout means the command ran past Config.Timeout and was killed.
var ErrTimeout = errors.New("time limit reached; every process of the build was killed")

// drainDelay bounds the wait for output after the command exited and its
// process group was killed: an unsandboxed process that left the group
// could hold the output open.
const drainDelay = 2 * time.Second

// Run runs the command and waits for it; then kills what is left of it.
func (c *Config) Run(ctx context.Context) error {
	if len(c.Argv) == 0 {
		return errors.New("sandbox: no command")
	}
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	cmd, argsFile, err := c.command()
	if err != nil {
		return err
	}
	if argsFile != nil {
		defer argsFile.Close()
	}
	// Our own pipe, not exec's: Wait then returns when the command exits,
	// not when the last process holding its output does.
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if c.asNobody() {
		if err := c.giveToNobody(); err != nil {
			pr.Close()
			pw.Close()
			return fmt.Errorf("sandbox: giving the writable paths to uid %d: %w", Nobody, err)
		}
	}
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return fmt.Errorf("sandbox: %w", err)
	}
	pw.Close()
	copied := make(chan struct{})
	go func() { copyOutput(c.Stdout, pr); close(copied) }()
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			killGroup(cmd.Process.Pid)
		case <-done:
		}
	}()
	werr := cmd.Wait()
	close(done)
	killGroup(cmd.Process.Pid) // whatever the build left behind
	select {
	case <-copied:
	case <-time.After(drainDelay):
	}
	pr.Close()
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && c.Timeout > 0 {
			return fmt.Errorf("after %v: %w", c.Timeout, ErrTimeout)
		}
		return ctx.Err()
	}
	return werr
}

// killGroup kills the process group of pid: with bwrap, that is bwrap,
// whose death takes its PID namespace (so every process inside) with it.
func killGroup(pid int) { syscall.Kill(-pid, syscall.SIGKILL) }

func copyOutput(w io.Writer, r io.Reader) {
	if w == nil {
		w = io.Discard
	}
	io.Copy(w, r)
}

// command is the command line: prlimit, then bwrap reading its arguments
// from a file (so that no process in the sandbox can read them, with the
// environment, from /proc), then Argv. prlimit runs the next program
// with the environment given, found in its PATH.
func (c *Config) command() (*exec.Cmd, *os.File, error) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		return nil, nil, fmt.Errorf("sandbox: prlimit (util-linux) is needed for the resource limits: %w", err)
	}
	argv := append([]string{"prlimit"}, c.Limits.args()...)
	var args *os.File
	if !c.Unsandboxed {
		bwrap, err := exec.LookPath("bwrap")
		if err != nil {
			return nil, nil, fmt.Errorf("sandbox: %w", err)
		}
		if args, err = argsFile(c.bwrapArgs()); err != nil {
			return nil, nil, err
		}
		argv = append(argv, bwrap, "--args", "3", "--")
		if c.asNobody() {
			setpriv, err := exec.LookPath("setpriv")
			if err != nil || !underSystemDir(setpriv) {
				return nil, nil, fmt.Errorf("sandbox: setpriv (util-linux) in /usr/bin is needed to drop root's rights: %v", err)
			}
			argv = append(argv, setprivArgs(setpriv)...)
		}
	}
	cmd := exec.Command(prlimit, append(argv[1:], c.Argv...)...)
	cmd.Dir, cmd.Env = c.Dir, c.Env
	if args != nil {
		cmd.Dir = "/" // bwrap changes to c.Dir in the sandbox
		cmd.ExtraFiles = []*os.File{args}
		cmd.Env = []string{} // not ours: bwrap's own environment is readable in /proc

	}
	return cmd, args, nil
}
