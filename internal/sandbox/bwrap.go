package sandbox

import (
	"fmt"
	"os"
	"strings"
)

// systemDirs hold the programs and libraries a build runs (the C compiler
// and linker when CGO_ENABLED=1); bound read-only, or recreated as the
// symlinks they are on merged-/usr systems.
var systemDirs = []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}

// etcFiles are the few files of /etc that programs expect (the dynamic
// linker's cache, users and groups, the compiler alternatives); the rest
// of /etc (keys, credentials, host configuration) stays out.
var etcFiles = []string{
	"/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives",
	"/etc/passwd", "/etc/group", "/etc/nsswitch.conf",
}

// DefaultHome is HOME inside the sandbox: on its /tmp.
const DefaultHome = "/tmp/home"

// bwrapArgs are bubblewrap's arguments. Order matters: later mounts go on
// top of earlier ones, so /tmp comes before the binds that may
// lie under it.
func (c *Config) bwrapArgs() []string {
	a := []string{
		"--unshare-all",     // network, PIDs, IPC, UTS, cgroup, user (if it can)
		"--cap-drop", "ALL", // bwrap run by root keeps its capabilities otherwise
	}
	if c.asNobody() {
		// No user namespace: setpriv, in the sandbox, needs root's
		// CAP_SETUID to become Nobody, and drops every capability then.
		a = []string{"--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"}
	}
	a = append(a,
		"--die-with-parent", // if we die, so does the sandbox
		"--new-session",     // no access to our terminal (TIOCSTI)
		"--clearenv",
		"--dev", "/dev", "--proc", "/proc",
	)
	if c.Tmp != "" {
		a = append(a, "--bind", c.Tmp, "/tmp")
	} else {
		a = append(a, "--tmpfs", "/tmp")
	}
	for _, d := range systemDirs {
		switch fi, err := os.Lstat(d); {
		case err != nil:
		case fi.Mode()&os.ModeSymlink != 0:
			if target, err := os.Readlink(d); err == nil {
				a = append(a, "--symlink", target, d)
			}
		default:
			a = append(a, "--ro-bind", d, d)
		}
	}
	if c.asNobody() {
		a = append(a, "--perms", "0755", "--dir", "/etc") // not root's 0700
	}
	for _, f := range etcFiles {
		a = append(a, "--ro-bind-try", f, f)
	}
	if c.asNobody() {
		for _, d := range c.parentDirs() {
			a = append(a, "--perms", "0755", "--dir", d)
		}
	}
	for _, p := range c.ReadOnly {
		a = append(a, "--ro-bind", p, p)
	}
	for _, p := range c.Writable {
		a = append(a, "--bind", p, p)
	}
	for _, p := range c.Protect { // on top of the writable binds they lie in
		a = append(a, "--ro-bind", p, p)
	}
	home := c.Home
	if home == "" {
		home = DefaultHome
	}
	a = append(a, "--dir", home, "--chdir", c.Dir)
	env := append([]string{"HOME=" + home}, c.Env...)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		a = append(a, "--setenv", k, v)
	}
	return a
}

// argsFile returns a file holding args, NUL-terminated, for bwrap --args.
func argsFile(args []string) (*os.File, error) {
	f, err := os.CreateTemp("", "ssms-sandbox-args-")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name()) // only the open file is needed
	for _, arg := range args {
		if strings.ContainsRune(arg, 0) {
			f.Close()
			return nil, fmt.Errorf("sandbox: argument %q contains a NUL byte", arg)
		}
		if _, err := f.WriteString(arg + "\x00"); err != nil {
			f.Close()
			return nil, err
		}
	}
	if _, err := f.Seek(0, 0); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
