package rebuild

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"ssms.dev/ssms/internal/clierr"
	"ssms.dev/ssms/manifest"
)

// Toolchain is the rebuilder's own Go installation. A build uses it and
// nothing else: GOTOOLCHAIN=local, so that no go.mod or recipe can make
// the go command download and run another toolchain.
type Toolchain struct {
	Version string // go env GOVERSION, as "go1.26.8"
	GOROOT  string
}

// Go is the go command of the installation.
func (t *Toolchain) Go() string { return filepath.Join(t.GOROOT, "bin", "go") }

// FindToolchain asks the go command goCmd (a path, or a name looked up in
// PATH; "" means "go") for its version and GOROOT, with GOTOOLCHAIN=local
// and GOENV=off so that the answer is about that installation itself.
func FindToolchain(ctx context.Context, goCmd string) (*Toolchain, error) {
	if goCmd == "" {
		goCmd = "go"
	}
	path, err := exec.LookPath(goCmd)
	if err != nil {
		return nil, clierr.Hint(fmt.Errorf("no go command %s: %w", goCmd, err), "install Go, or pass --go PATH to a go command")
	}
	cmd := exec.CommandContext(ctx, path, "env", "GOVERSION", "GOROOT")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(), "GOTOOLCHAIN=local", "GOENV=off", "GOFLAGS="}
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s env GOVERSION GOROOT: %w", path, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 || lines[0] == "" || lines[1] == "" {
		return nil, fmt.Errorf("%s env GOVERSION GOROOT: unexpected output %q", path, out)
	}
	t := &Toolchain{Version: lines[0], GOROOT: lines[1]}
	if _, err := os.Stat(t.Go()); err != nil {
		return nil, fmt.Errorf("%s: its GOROOT has no bin/go: %w", path, err)
	}
	return t, nil
}

// ErrToolchain means the recipe asks for another Go version than the
// rebuilder's installation.
var ErrToolchain = errors.New("the recipe's toolchain is not this Go installation's")

// Check demands that r's toolchain is exactly this installation's version.
func (t *Toolchain) Check(r *manifest.Recipe) error {
	if r.Toolchain != t.Version {
		err := fmt.Errorf("%w: the recipe needs %s, %s is %s", ErrToolchain, r.Toolchain, t.Go(), t.Version)
		return clierr.Hint(err, fmt.Sprintf("install %s (https://go.dev/dl/) and pass --go PATH to its bin/go", r.Toolchain))
	}
	return nil
}
