package sandbox

import (
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Nobody is the user and group a sandboxed command runs as when it is
// started by root, so that it cannot read what only root may (a 0600
// file under a read-only bind). bwrap itself runs as root, without a
// user namespace: run as Nobody, it would resolve the paths to bind as
// Nobody too, and a module cache under /root (0700) could not be bound.
// It makes the mounts, then setpriv (in the sandbox) drops to Nobody
// with no capabilities and no_new_privs before the command starts.
const Nobody = 65534

// asNobody reports whether the command runs as Nobody: in the sandbox,
// started by root.
func (c *Config) asNobody() bool { return !c.Unsandboxed && os.Geteuid() == 0 }

// giveToNobody makes the writable paths and the /tmp directory, and
// everything in them, Nobody's, never following a symlink. A checkout
// must not hold hard links to files outside (rebuild clones with
// --no-hardlinks): their owner would change too.
func (c *Config) giveToNobody() error {
	paths := append([]string{}, c.Writable...)
	if c.Tmp != "" {
		paths = append(paths, c.Tmp)
	}
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(path, Nobody, Nobody)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// setprivArgs start the command as Nobody, from bwrap run as root:
// with no supplementary group, no capability (none kept, none to
// inherit, none in the bounding set) and no_new_privs, so that no
// set-user-ID program of the system directories gives root back.
func setprivArgs(setpriv string) []string {
	id := strconv.Itoa(Nobody)
	return []string{setpriv, "--reuid=" + id, "--regid=" + id, "--clear-groups",
		"--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"}
}

// parentDirs are the directories bwrap creates for the mount points of
// the binds, made 0755 (bwrap would make them 0700, root's): Nobody must
// reach a bind under /root. Those under the system directories and /tmp
// exist already.
func (c *Config) parentDirs() []string {
	seen := map[string]bool{"/": true, "/tmp": true}
	var dirs []string
	for _, p := range append(append(append([]string{}, c.ReadOnly...), c.Writable...), c.Protect...) {
		var chain []string
		for d := filepath.Dir(p); !seen[d] && !underSystemDir(d); d = filepath.Dir(d) {
			seen[d] = true
			chain = append(chain, d)
		}
		for i := len(chain) - 1; i >= 0; i-- {
			dirs = append(dirs, chain[i])
		}
	}
	return dirs
}

func underSystemDir(p string) bool {
	for _, d := range append(systemDirs, "/etc", "/proc", "/dev") {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}
