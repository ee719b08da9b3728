package rebuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"ssms.dev/ssms/internal/sandbox"
	"ssms.dev/ssms/manifest"
)

// ErrModulesModified means go mod verify found the module cache changed
// since the modules were downloaded: a build that wrote into it, or
// anyone else. Nothing is built from it.
var ErrModulesModified = errors.New("the module cache does not match go.sum (go mod verify)")

// passThrough are the host's variables the module download keeps: where
// to fetch from and how to reach it. Not GONOSUMDB, GONOSUMCHECK,
// GOPRIVATE, GOINSECURE or GOFLAGS: they would weaken the checks of what
// is downloaded.
var passThrough = []string{"GOPROXY", "SSL_CERT_FILE", "SSL_CERT_DIR", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy"}

// download runs go mod download in src, outside the sandbox (it needs the
// network and writes the cache) but with no code from the checkout: the
// go command only fetches modules and checks them against go.sum and the
// checksum database, which is never off.
func (r *Runner) download(ctx context.Context, src, work string) error {
	if err := os.MkdirAll(r.ModCache, 0o755); err != nil {
		return err
	}
	env := r.baseEnv(work)
	if !r.NoSandbox {
		env = append(env, "HOME="+filepath.Join(work, "home")) // nothing of the user's
	}
	for _, k := range passThrough {
		if v := os.Getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	if v := os.Getenv("GOSUMDB"); v != "" && v != "off" {
		env = append(env, "GOSUMDB="+v)
	}
	var out bytes.Buffer
	c := &sandbox.Config{
		Argv: []string{"go", "mod", "download"}, Env: env, Dir: src,
		Timeout: r.timeout(), Stdout: &out, Unsandboxed: true,
	}
	if err := c.Run(ctx); err != nil {
		return fmt.Errorf("go mod download: %w: %s", err, strings.TrimSpace(out.String()))
	}
	return nil
}

// verify runs go mod verify in the build's sandbox, before every build:
// the go command does not check the cache again when it builds.
func (r *Runner) verify(ctx context.Context, rec *manifest.Recipe, src, work string) error {
	var out bytes.Buffer
	c := r.Sandbox(rec, src, work)
	c.Argv, c.Stdout = []string{"go", "mod", "verify"}, &out
	if err := c.Run(ctx); err != nil {
		return fmt.Errorf("%w: %v: %s", ErrModulesModified, err, strings.TrimSpace(out.String()))
	}
	return nil
}
