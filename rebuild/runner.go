package rebuild

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"ssms.dev/ssms/internal/clierr"
	"ssms.dev/ssms/internal/progress"
	"ssms.dev/ssms/internal/sandbox"
	"ssms.dev/ssms/manifest"
)

// Runner is where and how a rebuilder builds: its pinned toolchain, its
// module cache, and the sandbox (or, when told, none).
type Runner struct {
	Toolchain *Toolchain
	ModCache  string        // bound read-only into every build
	Timeout   time.Duration // each step: module download, verify, build
	Output    io.Writer     // the steps' output
	// NoSandbox builds without bwrap: the environment, limits, time limit
	// and process-group kill still apply, but the recipe's code runs with
	// the user's rights, files and network.
	NoSandbox bool
	// GoCache, if set, is a build cache shared by every build of this
	// runner (and bound writable into each), instead of a private one per
	// build: a demo or a CI job that builds one release several times
	// compiles the standard library once. Go checks what it reuses by
	// the hashes of its inputs, but a build that can write the cache can
	// poison the next: independent rebuilders must never share one.
	GoCache string
	// Stages names each step on a terminal as it begins (nil: nothing).
	Stages *progress.Stages
}

// NewRunner finds the toolchain goCmd ("" for go on PATH) and the module
// cache (modcache, or the host's go env GOMODCACHE), and checks that the
// sandbox works unless noSandbox.
func NewRunner(ctx context.Context, goCmd, modcache string, noSandbox bool) (*Runner, error) {
	if !noSandbox {
		if err := sandbox.Available(); err != nil {
			return nil, clierr.Hint(err, sandbox.Hint)
		}
	}
	tc, err := FindToolchain(ctx, goCmd)
	if err != nil {
		return nil, err
	}
	if modcache == "" {
		// The host's own setting (its environment, its go env file).
		out, err := exec.CommandContext(ctx, tc.Go(), "env", "GOMODCACHE").Output()
		if err != nil {
			return nil, fmt.Errorf("go env GOMODCACHE: %w", err)
		}
		modcache = strings.TrimSpace(string(out))
	}
	if modcache, err = filepath.Abs(modcache); err != nil {
		return nil, err
	}
	return &Runner{Toolchain: tc, ModCache: modcache, Timeout: DefaultTimeout, Output: io.Discard, NoSandbox: noSandbox}, nil
}

// Check applies the recipe policy and the toolchain check: everything that
// can refuse a recipe before its source is fetched.
func (r *Runner) Check(rec *manifest.Recipe) error {
	if err := CheckRecipe(rec); err != nil {
		return fmt.Errorf("the recipe is refused: %w", err)
	}
	return r.Toolchain.Check(rec)
}

// Build builds src (a fresh checkout in work) with rec: downloads the
// modules (no recipe code runs), verifies the module cache against go.sum
// in the sandbox, then runs the recipe's command in the sandbox.
func (r *Runner) Build(ctx context.Context, rec *manifest.Recipe, src, work string) error {
	if err := r.Check(rec); err != nil {
		return err
	}
	r.Stages.Stage("downloading modules")
	if err := r.download(ctx, src, work); err != nil {
		return err
	}
	r.Stages.Stage("verifying modules against go.sum")
	if err := r.verify(ctx, rec, src, work); err != nil {
		return err
	}
	r.Stages.Stage("building: %s", strings.Join(rec.Command, " "))
	c := r.Sandbox(rec, src, work)
	c.Argv = rec.Command
	if err := c.Run(ctx); err != nil {
		return fmt.Errorf("recipe command %q: %w", strings.Join(rec.Command, " "), err)
	}
	return nil
}

// Sandbox is the sandbox every build step of rec runs in: src and work
// writable (work holds the checkout and the private build cache), the
// toolchain and module cache read-only, the build's environment. The
// checkout's .git is read-only on top: nothing the build writes there
// (a hook, a config with core.fsmonitor) can run on the host when git
// runs in the tree again.
func (r *Runner) Sandbox(rec *manifest.Recipe, src, work string) *sandbox.Config {
	tmp := filepath.Join(work, "tmp") // on the disk, not in memory
	os.MkdirAll(tmp, 0o700)
	var protect []string
	if _, err := os.Lstat(filepath.Join(src, ".git")); err == nil {
		protect = append(protect, filepath.Join(src, ".git"))
	}
	return &sandbox.Config{
		Tmp:         tmp,
		Env:         r.buildEnv(rec, work),
		Dir:         src,
		ReadOnly:    []string{r.Toolchain.GOROOT, r.ModCache},
		Writable:    r.writable(work, src),
		Protect:     protect,
		Timeout:     r.timeout(),
		Limits:      sandbox.Limits{CPU: sandbox.DefaultCPU(r.timeout())},
		Stdout:      printableWriter{r.output()}, // the release's bytes, to a terminal
		Unsandboxed: r.NoSandbox,
	}
}

func (r *Runner) output() io.Writer {
	if r.Output == nil {
		return io.Discard
	}
	return r.Output
}

func (r *Runner) timeout() time.Duration {
	if r.Timeout > 0 {
		return r.Timeout
	}
	return DefaultTimeout
}

// buildEnv is the whole environment of a build: the rebuilder's variables,
// then those of the recipe's that the policy allows, taken by name from
// the allowlist (so none can override the rebuilder's). Offline
// (GOPROXY=off), read-only modules, no go env file, no workspace.
func (r *Runner) buildEnv(rec *manifest.Recipe, work string) []string {
	env := r.baseEnv(work)
	env = append(env, "GOPROXY=off")
	names := make([]string, 0, len(allowedEnv))
	for k := range allowedEnv {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if v, ok := rec.Environment[k]; ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// baseEnv is what every step has, the module download included.
func (r *Runner) baseEnv(work string) []string {
	env := []string{
		"PATH=" + filepath.Join(r.Toolchain.GOROOT, "bin") + ":/usr/bin:/bin",
		"GOROOT=" + r.Toolchain.GOROOT,
		"GOTOOLCHAIN=local", "GOENV=off", "GOFLAGS=-mod=readonly", "GOTELEMETRY=off", "GOWORK=off",
		"GOPATH=" + filepath.Join(work, "gopath"),
		"GOCACHE=" + r.goCache(work),
		"GOMODCACHE=" + r.ModCache,
	}
	if r.NoSandbox { // in the sandbox, HOME and TMPDIR are its own tmpfs
		env = append(env, "HOME="+filepath.Join(work, "home"), "TMPDIR="+filepath.Join(work, "tmp"))
		os.MkdirAll(filepath.Join(work, "tmp"), 0o700)
	}
	return env
}

func (r *Runner) goCache(work string) string {
	if r.GoCache != "" {
		return r.GoCache
	}
	return filepath.Join(work, "gocache")
}

// writable are the paths a build step may write: the work directory, the
// checkout and a shared build cache.
func (r *Runner) writable(work, src string) []string {
	w := []string{work, src}
	if r.GoCache != "" {
		w = append(w, r.GoCache)
	}
	return w
}
