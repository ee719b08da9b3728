package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/rebuild"
	"ssms.dev/ssms/updater/mirror"
)

// smpSource puts the source smp-server is built from, this module's
// packages that cmd/smp-server and cmd/smp-client import (with go.mod and
// go.sum, without tests), from the repository at repo into a fresh git
// repository at dir, with its recipe, and returns the commit.
func smpSource(out io.Writer, repo, dir string) (string, error) {
	for _, tool := range []string{"git", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "", withHint(fmt.Errorf("quickstart needs %s on PATH", tool), "it builds and rebuilds smp-server from a git repository")
		}
	}
	goVersion, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOVERSION: %w", err)
	}
	list := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}|{{.Dir}}|{{join .GoFiles \",\"}}|{{join .EmbedFiles \",\"}}{{end}}", "./cmd/smp-server", "./cmd/smp-client")
	list.Dir = repo
	listed, err := list.Output()
	if err != nil {
		return "", withHint(fmt.Errorf("listing the packages of smp-server in %s: %w", repo, err), "run quickstart from a clone of the ssms repository, or give one with --source")
	}
	files := []string{"go.mod", "go.sum"}
	for _, line := range strings.Split(strings.TrimSpace(string(listed)), "\n") {
		parts := strings.Split(line, "|")
		if len(parts) != 4 || !strings.HasPrefix(parts[0], "ssms.dev/ssms") {
			continue // a module dependency: the build gets it from the module cache
		}
		rel, err := filepath.Rel(repo, parts[1])
		if err != nil {
			return "", err
		}
		for _, f := range append(strings.Split(parts[2], ","), strings.Split(parts[3], ",")...) {
			if f != "" {
				files = append(files, filepath.Join(rel, f))
			}
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(repo, f))
		if err != nil {
			return "", err
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			return "", err
		}
	}
	// The toolchain that is here already: a quickstart must not download one.
	recipe := fmt.Sprintf(`{
  "toolchain": %q,
  "command": ["go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-buildid= -X main.version=1.0.0", "-o", "smp-server", "./cmd/smp-server"],
  "environment": {"CGO_ENABLED": "0"}
}
`, strings.TrimSpace(string(goVersion)))
	if err := os.WriteFile(filepath.Join(dir, "recipe.json"), []byte(recipe), 0o644); err != nil {
		return "", err
	}
	// Whatever the user's git configuration, the demo commits as Quickstart.
	identity := []string{"-c", "user.name=Quickstart", "-c", "user.email=quickstart@example.org", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"}
	ctx := context.Background()
	for _, args := range [][]string{{"init", "--quiet"}, {"add", "."}, {"commit", "--quiet", "-m", "smp-server 1.0.0"}} {
		if _, err := rebuild.Git(ctx, dir, append(identity, args...)...); err != nil {
			return "", err
		}
	}
	commit, err := rebuild.Head(ctx, dir)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(out, "(the program to release, smp-server, is this repository's source (%d files copied from %s)\n"+
		" in the git repository smp-src, commit %s, with its build recipe in recipe.json)\n", len(files), repo, commit)
	return commit, nil
}

// repoRoot is the ssms repository the working directory is in, or "".
func repoRoot() string {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Path}} {{.Dir}}").Output()
	if err != nil {
		return ""
	}
	path, dir, ok := strings.Cut(strings.TrimSpace(string(out)), " ")
	if !ok || path != "ssms.dev/ssms" {
		return ""
	}
	return dir
}

// tamper makes an attacker's version of a binary: the same bytes and a
// few more.
func (s *script) tamper(from, to string) {
	if s.err != nil {
		return
	}
	fmt.Fprintf(s.out, "$ cp %s %s && echo backdoor >> %s    (an attacker's binary, for the attacks below)\n", from, to, to)
	b, err := os.ReadFile(from)
	if err == nil {
		err = os.WriteFile(to, append(b, "backdoor\n"...), 0o755)
	}
	if err != nil {
		s.err = errors.Join(errors.New("quickstart: making the tampered binary"), err)
	}
}

// evilMirror copies the mirror at from to to, with the artifact that
// hashes like artifact replaced by the bytes of tampered: a hostile mirror.
func (s *script) evilMirror(from, to, artifact, tampered string) {
	if s.err != nil {
		return
	}
	good, err := os.ReadFile(artifact)
	if err != nil {
		s.err = err
		return
	}
	rel, err := mirror.ArtifactPath(manifest.DigestBytes(good))
	if err != nil {
		s.err = err
		return
	}
	fmt.Fprintf(s.out, "$ cp -r %s %s && cp %s %s/%s    (a hostile mirror serving the attacker's binary)\n", from, to, tampered, to, rel)
	err = filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(to, strings.TrimPrefix(p, from))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err == nil {
			err = os.WriteFile(dst, b, 0o644)
		}
		return err
	})
	if err == nil {
		var bad []byte
		if bad, err = os.ReadFile(tampered); err == nil {
			err = os.WriteFile(filepath.Join(to, rel), bad, 0o644)
		}
	}
	if err != nil {
		s.err = errors.Join(errors.New("quickstart: making the hostile mirror"), err)
	}
}
