package rebuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/mod/modfile"

	"ssms.dev/ssms/internal/sandbox"
	"ssms.dev/ssms/manifest"
)

// ErrModulesModified means go mod verify found the module cache changed
// since the modules were downloaded: a build that wrote into it, or
// anyone else. Nothing is built from it.
var ErrModulesModified = errors.New("the module cache does not match go.sum (go mod verify)")

// passThrough are the host's variables the module download keeps: how
// to reach the proxy. Not GONOSUMDB, GONOSUMCHECK, GOPRIVATE, GOINSECURE
// or GOFLAGS: they would weaken the checks of what is downloaded; GOPROXY
// and GOSUMDB are taken apart below.
var passThrough = []string{"SSL_CERT_FILE", "SSL_CERT_DIR", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy"}

// DefaultProxy is the module proxy when the host's GOPROXY names none
// but "direct".
const DefaultProxy = "https://proxy.golang.org"

// ErrLocalReplace means the checkout's go.mod replaces a module with a
// directory: the go command would read it on the host, outside the
// checkout, while downloading.
var ErrLocalReplace = errors.New("go.mod replaces a module with a local directory")

// maxGoMod bounds the go.mod read before the download.
const maxGoMod = 1 << 20

// download runs go mod download in src, outside the sandbox (it needs the
// network and writes the cache) but with no code from the checkout: the
// go command only fetches modules from the proxy (never from a version
// control system: GOVCS=*:off, no "direct") and checks them against
// go.sum and the checksum database, which is never off. The go.mod is
// checked first: no replace by a local directory.
func (r *Runner) download(ctx context.Context, src, work string) error {
	if err := checkGoMod(filepath.Join(src, "go.mod")); err != nil {
		return err
	}
	if err := os.MkdirAll(r.ModCache, 0o755); err != nil {
		return err
	}
	var out bytes.Buffer
	c := &sandbox.Config{
		Argv: []string{"go", "mod", "download"}, Env: r.downloadEnv(work), Dir: src,
		Timeout: r.timeout(), Stdout: &out, Unsandboxed: true,
	}
	if err := c.Run(ctx); err != nil {
		return fmt.Errorf("go mod download: %w: %s", err, printable(strings.TrimSpace(out.String())))
	}
	return nil
}

// downloadEnv is the environment of go mod download.
func (r *Runner) downloadEnv(work string) []string {
	env := r.baseEnv(work)
	if !r.NoSandbox {
		env = append(env, "HOME="+filepath.Join(work, "home")) // nothing of the user's
	}
	for _, k := range passThrough {
		if v := os.Getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	env = append(env, "GOPROXY="+proxyOnly(os.Getenv("GOPROXY")), "GOVCS=*:off",
		"GONOSUMDB=", "GONOSUMCHECK=", "GOPRIVATE=", "GOINSECURE=")
	if v := os.Getenv("GOSUMDB"); v != "" && v != "off" {
		env = append(env, "GOSUMDB="+v)
	}
	return env
}

// proxyOnly is the GOPROXY list v without "direct" (a fetch from the
// module's version control system, on the host), or DefaultProxy if
// nothing is left. "off" stays: nothing is downloaded.
func proxyOnly(v string) string {
	var kept []string
	for _, p := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '|' }) {
		if p = strings.TrimSpace(p); p != "" && p != "direct" {
			kept = append(kept, p)
		}
	}
	if len(kept) == 0 {
		return DefaultProxy
	}
	return strings.Join(kept, ",")
}

// checkGoMod parses the go.mod at path and refuses a replace by a
// directory (a replacement without a version).
func checkGoMod(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return fmt.Errorf("go.mod: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return fmt.Errorf("go.mod is %w", ErrNotRegular)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxGoMod+1))
	if err != nil {
		return err
	}
	if len(b) > maxGoMod {
		return fmt.Errorf("go.mod is larger than %d bytes", maxGoMod)
	}
	mf, err := modfile.Parse("go.mod", b, nil)
	if err != nil {
		return fmt.Errorf("parsing go.mod: %w", err)
	}
	for _, rep := range mf.Replace {
		if rep.New.Version == "" {
			return fmt.Errorf("%w: replace %s => %s (only module@version replacements are rebuilt)", ErrLocalReplace, rep.Old.Path, printable(rep.New.Path))
		}
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
		return fmt.Errorf("%w: %v: %s", ErrModulesModified, err, printable(strings.TrimSpace(out.String())))
	}
	return nil
}
