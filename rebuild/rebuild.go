// Package rebuild rebuilds a release from its source and recipe and
// compares the result with the release bit for bit.
//
// A recipe is the maintainers' word, and rebuilders exist to catch
// maintainers gone bad, so a rebuild trusts it with nothing: the recipe
// must pass the policy of CheckRecipe (go build, allowlisted flags and
// variables) and name the rebuilder's own Go version, before anything is
// fetched; the source is cloned by git with a minimal environment and
// only the https, ssh and file protocols; the modules are downloaded by
// the go command alone (no code of the checkout runs) into the module
// cache; then in the sandbox (package internal/sandbox: no network, the
// module cache and toolchain read-only, nothing of the host's home), go
// mod verify checks the cache against go.sum, and the recipe's command
// runs in the checkout and must leave each artifact at <root>/<name>.
package rebuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// waitDelay bounds the wait for a command's output once ctx is done and
// the command killed: a child it left behind (git's remote helper, a shell
// recipe's build) can hold its output open, and Wait would wait for that
// child to finish, past any timeout.
const waitDelay = 5 * time.Second

// ErrDirty means a local source tree has uncommitted changes.
var ErrDirty = errors.New("source tree has uncommitted changes")

// Fetch puts the source at commit into dir/src: a clone of source (a git
// URL or a local repository) checked out at exactly that commit. A local
// repository must be clean, so that what is rebuilt is what was committed
// and nothing else is mistaken for it. The commit's tree is checked
// against MaxTreeEntries and MaxTreeBytes before it is checked out.
func Fetch(ctx context.Context, source, commit, dir string) (string, error) {
	if fi, err := os.Stat(source); err == nil && fi.IsDir() {
		out, err := Git(ctx, source, "status", "--porcelain")
		if err != nil {
			return "", fmt.Errorf("%s is not a git repository: %w", source, err)
		}
		if strings.TrimSpace(out) != "" {
			return "", fmt.Errorf("%s: %w", source, ErrDirty)
		}
		if source, err = filepath.Abs(source); err != nil { // git clone runs in dir
			return "", err
		}
	}
	src := filepath.Join(dir, "src")
	if _, err := Git(ctx, dir, "clone", "--quiet", "--no-checkout", "--no-hardlinks", "--no-recurse-submodules", source, src); err != nil {
		return "", fmt.Errorf("cloning %s: %w", source, err)
	}
	if _, err := Git(ctx, src, "rev-parse", "--quiet", "--verify", commit+"^{commit}"); err != nil {
		return "", fmt.Errorf("commit %s is not in %s: %w", commit, source, err)
	}
	if err := checkTree(ctx, src, commit); err != nil {
		return "", err
	}
	if _, err := Git(ctx, src, "checkout", "--quiet", "--detach", commit); err != nil {
		return "", fmt.Errorf("commit %s is not in %s: %w", commit, source, err)
	}
	head, err := Git(ctx, src, "rev-parse", "HEAD")
	if err != nil || strings.TrimSpace(head) != commit {
		return "", fmt.Errorf("checked out %q, want commit %s", strings.TrimSpace(head), commit)
	}
	return src, nil
}

// Git runs git in dir and returns its standard output; an error carries
// git's own message. git runs with a minimal environment: no system or
// global configuration, a throwaway HOME, no prompt for credentials, and
// only the https, ssh and file protocols (not ext::, which runs a
// command, nor the unauthenticated git:// and http://); ssh with no
// configuration file nor agent, never asking, and giving up on a server
// that stalls, as https does below 1000 bytes/s for a minute. git runs
// in its own process group, killed when git ends or ctx is done: its
// children (ssh, git-remote-https) do not outlive it.
func Git(ctx context.Context, dir string, args ...string) (string, error) {
	var out bytes.Buffer
	err := gitRun(ctx, dir, args, func(r io.Reader) error {
		_, err := io.Copy(&out, r)
		return err
	})
	return out.String(), err
}

// maxGitStderr bounds what is kept of git's standard error.
const maxGitStderr = 64 << 10

// limitedWriter keeps the first n bytes written to it and drops the rest.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(b []byte) (int, error) {
	if k := min(len(b), l.n); k > 0 {
		l.w.Write(b[:k])
		l.n -= k
	}
	return len(b), nil
}

// gitSSH is the ssh command git runs: no ~/.ssh/config, no prompt, only
// the identities configured (none), and timeouts on connection and silence.
const gitSSH = "ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -o ConnectTimeout=30 -o ServerAliveInterval=15 -o ServerAliveCountMax=4"

// gitRun runs git in dir, passing its standard output to read as it
// comes; if read returns an error, git is killed and that error returned.
func gitRun(ctx context.Context, dir string, args []string, read func(io.Reader) error) error {
	home, err := os.MkdirTemp("", "ssms-git-home-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(home)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	argv := append([]string{"-c", "http.lowSpeedLimit=1000", "-c", "http.lowSpeedTime=60"}, args...)
	cmd := exec.CommandContext(ctx, "git", argv...)
	cmd.Dir = dir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home,
		"GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + os.DevNull,
		"GIT_ALLOW_PROTOCOL=https:ssh:file", "GIT_SSH_COMMAND=" + gitSSH,
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = waitDelay
	var stderr bytes.Buffer
	cmd.Stderr = &limitedWriter{w: &stderr, n: maxGitStderr} // a remote's messages, of any length
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("git: %w", err)
	}
	rerr := read(stdout)
	if rerr != nil {
		cancel()
	}
	io.Copy(io.Discard, stdout)
	werr := cmd.Wait()
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // whatever git left behind
	if rerr != nil {
		return rerr
	}
	if werr != nil {
		// Only the subcommand is named: other arguments may be URLs with credentials.
		sub := args[0]
		for i := 0; i+2 < len(args) && args[i] == "-c"; i += 2 {
			sub = args[i+2]
		}
		return fmt.Errorf("git %s: %v: %s", sub, werr, cleanError(errors.New(strings.TrimSpace(stderr.String()))))
	}
	return nil
}

// Head is the commit checked out in the repository at dir.
func Head(ctx context.Context, dir string) (string, error) {
	out, err := Git(ctx, dir, "rev-parse", "HEAD")
	return strings.TrimSpace(out), err
}

// scpLike is git's other syntax for ssh: [user@]host:path, with no slash
// before the colon.
var scpLike = regexp.MustCompile(`^([A-Za-z0-9._-]+@)?[A-Za-z0-9][A-Za-z0-9.-]*:[^:]`)

// RemoteSource reports whether source names a repository on another host,
// which git reaches over https or ssh: an https:// or ssh:// URL with a
// host, or [user@]host:path. A path or a file:// URL is local.
func RemoteSource(source string) bool {
	if !strings.Contains(source, "://") {
		return scpLike.MatchString(source)
	}
	u, err := url.Parse(source)
	return err == nil && (u.Scheme == "https" || u.Scheme == "ssh") && u.Host != ""
}
