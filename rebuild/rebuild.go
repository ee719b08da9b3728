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
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
// and nothing else is mistaken for it.
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
	if _, err := Git(ctx, dir, "clone", "--quiet", "--no-checkout", "--no-recurse-submodules", source, src); err != nil {
		return "", fmt.Errorf("cloning %s: %w", source, err)
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
// command, nor the unauthenticated git:// and http://).
func Git(ctx context.Context, dir string, args ...string) (string, error) {
	home, err := os.MkdirTemp("", "ssms-git-home-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(home)
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home,
		"GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + os.DevNull,
		"GIT_ALLOW_PROTOCOL=https:ssh:file",
	}
	if v := os.Getenv("SSH_AUTH_SOCK"); v != "" { // a private repository's ssh key, in the agent
		cmd.Env = append(cmd.Env, "SSH_AUTH_SOCK="+v)
	}
	cmd.WaitDelay = waitDelay
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		// Only the subcommand is named: other arguments may be URLs with credentials.
		sub := args[0]
		for i := 0; i+2 < len(args) && args[i] == "-c"; i += 2 {
			sub = args[i+2]
		}
		return "", fmt.Errorf("git %s: %v: %s", sub, err, strings.TrimSpace(stderr.String()))
	}
	return out.String(), nil
}

// Head is the commit checked out in the repository at dir.
func Head(ctx context.Context, dir string) (string, error) {
	out, err := Git(ctx, dir, "rev-parse", "HEAD")
	return strings.TrimSpace(out), err
}
