package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"ssms.dev/ssms/rebuild"
)

// runnerFlags are how ssms build and ssms rebuild choose the toolchain,
// the module cache and the sandbox.
type runnerFlags struct {
	goCmd, modcache, gocache string
	noSandbox                bool
	timeout                  time.Duration
}

func (f *runnerFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.goCmd, "go", "go", "the Go installation to build with: its go command (its version must be the recipe's toolchain)")
	fl.StringVar(&f.modcache, "modcache", "", "module cache, bound read-only into the build (default: go env GOMODCACHE)")
	fl.StringVar(&f.gocache, "gocache", "", "a build cache shared by builds (default: a private one per build; never share one between independent rebuilders)")
	fl.BoolVar(&f.noSandbox, "no-sandbox", false, "build without bubblewrap (the recipe's code runs with your rights and network)")
	fl.DurationVar(&f.timeout, "timeout", rebuild.DefaultTimeout, "time limit of a build (with rebuild: of each rebuild, fetch to compare)")
}

// runner makes the rebuild.Runner, saying so loudly when there is no sandbox.
func (f *runnerFlags) runner(c *cobra.Command) (*rebuild.Runner, error) {
	r, err := rebuild.NewRunner(c.Context(), f.goCmd, f.modcache, f.noSandbox)
	if err != nil {
		return nil, err
	}
	if f.noSandbox {
		fmt.Fprintln(c.ErrOrStderr(), "ssms: warning: --no-sandbox: the recipe's build runs with your user's rights, files and network; only the scrubbed environment, the limits and the time limit apply")
	}
	r.Timeout, r.Output = f.timeout, c.ErrOrStderr()
	if f.gocache != "" {
		if r.GoCache, err = filepath.Abs(f.gocache); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(r.GoCache, 0o700); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// sandboxDoc is the part of build's and rebuild's help on how builds run.
const sandboxDoc = `The recipe must be "go build" with only the flags -trimpath, -buildvcs=false,
-o NAME (no element starting with "."), -ldflags (-s, -w, -buildid=, -X only), -tags, -mod=readonly|vendor,
-a, -v, -buildmode=exe|pie|default, -pgo=off, then packages ./DIR; and only
the variables CGO_ENABLED, GOOS, GOARCH, GOAMD64, GOARM, GOARM64, GO386,
GOMIPS, GOMIPS64, GOPPC64, GORISCV64, GOWASM, GOEXPERIMENT. Its toolchain must
be the version of the go command --go (default: go on PATH); nothing else is
downloaded or run. Any other recipe is refused before the source is fetched.

The source is cloned on the host; a commit whose tree holds more than 100,000
files or 2 GiB is refused before checkout. The modules are downloaded first
(go mod download: no code of the source runs; only from module proxies, never
"direct"; the checksum database stays on; a go.mod that replaces a module by
a directory is refused) into the module cache (--modcache, default go env
GOMODCACHE). Then, in a bubblewrap sandbox with no network, no capabilities,
nothing of your home, the toolchain and module cache read-only, the checkout
writable but its .git read-only, a private build cache and /tmp on disk,
resource limits (16 GiB of address space per process) and the --timeout, "go
mod verify" checks the cache against go.sum and the recipe builds, as uid
65534 when ssms runs as root; every process the build started is killed when
it ends, and its output is shown with control characters replaced by "?".
Without a working bwrap (apt-get install bubblewrap), builds are refused
unless --no-sandbox says to build without one.`
