// Package rebuild rebuilds a release from its source and recipe, in a
// fresh directory with a scrubbed environment, and compares the result
// with the release bit for bit.
//
// The environment is what the recipe says and nothing inherited: GOENV=off
// and no GOFLAGS (a go env file under $HOME once changed builds here),
// private HOME, GOPATH and build cache, GOTOOLCHAIN from the recipe. The
// module cache is shared: its contents are checked against go.sum, and a
// cold one would only download the same bytes again. The recipe's command
// runs in the source root and must leave each artifact at <root>/<name>.
package rebuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"ssms.dev/ssms/manifest"
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
	if _, err := Git(ctx, dir, "clone", "--quiet", "--no-checkout", source, src); err != nil {
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
// git's own message. It never prompts for credentials.
func Git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0")
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

// Env is the scrubbed environment a recipe runs in; work is a private
// directory for HOME, GOPATH and the build cache.
func Env(r *manifest.Recipe, work string) ([]string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, errors.New("no go command on PATH")
	}
	modcache, err := exec.Command(goBin, "env", "GOMODCACHE").Output()
	if err != nil {
		return nil, fmt.Errorf("go env GOMODCACHE: %w", err)
	}
	env := []string{
		"PATH=" + filepath.Dir(goBin) + string(os.PathListSeparator) + "/usr/bin:/bin",
		"HOME=" + filepath.Join(work, "home"),
		"GOPATH=" + filepath.Join(work, "gopath"),
		"GOCACHE=" + filepath.Join(work, "gocache"),
		"GOMODCACHE=" + strings.TrimSpace(string(modcache)),
		"GOENV=off", "GOFLAGS=", "GOTELEMETRY=off",
		"GOTOOLCHAIN=" + r.Toolchain,
	}
	if p := os.Getenv("GOPROXY"); p != "" {
		env = append(env, "GOPROXY="+p)
	}
	for k, v := range r.Environment {
		env = append(env, k+"="+v)
	}
	return env, nil
}

// Build runs the recipe in src, with output to log.
func Build(ctx context.Context, r *manifest.Recipe, src, work string, log io.Writer) error {
	env, err := Env(r, work)
	if err != nil {
		return err
	}
	if strings.ContainsRune(r.Command[0], '/') {
		return errors.New("the recipe's command must be a program name, found on the scrubbed PATH")
	}
	cmd := exec.CommandContext(ctx, r.Command[0], r.Command[1:]...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = src, env, log, log
	cmd.WaitDelay = waitDelay
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("recipe command %q: %w", strings.Join(r.Command, " "), err)
	}
	return nil
}
