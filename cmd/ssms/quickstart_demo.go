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

// demoSource writes the program quickstart releases, a Go module with its
// recipe, into a fresh git repository at dir, and returns the commit.
func demoSource(out io.Writer, dir string) (string, error) {
	for _, tool := range []string{"git", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "", withHint(fmt.Errorf("quickstart needs %s on PATH", tool), "it builds and rebuilds a small Go program from a git repository")
		}
	}
	goVersion, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOVERSION: %w", err)
	}
	// The toolchain that is here already: a quickstart must not download one.
	recipe := fmt.Sprintf(`{
  "toolchain": %q,
  "command": ["go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-buildid=", "-o", "demo-app", "."],
  "environment": {"CGO_ENABLED": "0"}
}
`, strings.TrimSpace(string(goVersion)))
	files := map[string]string{
		"go.mod":      "module example.org/demo-app\n\ngo 1.26\n",
		"main.go":     "package main\n\nfunc main() { println(\"hello from demo-app 1.0.0\") }\n",
		"recipe.json": recipe,
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return "", err
		}
	}
	// Whatever the user's git configuration, the demo commits as Quickstart.
	identity := []string{"-c", "user.name=Quickstart", "-c", "user.email=quickstart@example.org", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"}
	ctx := context.Background()
	for _, args := range [][]string{{"init", "--quiet"}, {"add", "."}, {"commit", "--quiet", "-m", "demo-app 1.0.0"}} {
		if _, err := rebuild.Git(ctx, dir, append(identity, args...)...); err != nil {
			return "", err
		}
	}
	commit, err := rebuild.Head(ctx, dir)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(out, "(the program to release, demo-app, is a Go module in the git repository demo-app-src,\n"+
		" commit %s, with its build recipe in recipe.json)\n", commit)
	return commit, nil
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
