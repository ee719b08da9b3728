package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary act, inside the sandbox, as the hostile
// program: SANDBOX_TEST_DIAL=ADDR makes it connect to ADDR and report.
func TestMain(m *testing.M) {
	if addr := os.Getenv("SANDBOX_TEST_DIAL"); addr != "" {
		conn, err := net.DialTimeout("tcp", addr, 3*time.Second)
		if err != nil {
			fmt.Println("dial failed:", err)
			os.Exit(1)
		}
		conn.Close()
		fmt.Println("dial connected")
		os.Exit(0)
	}
	if err := Available(); err != nil {
		fmt.Fprintln(os.Stderr, "the sandbox tests need a working bubblewrap:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// run runs sh -c script in a sandbox with dir writable, returning output.
func run(t *testing.T, c *Config, script string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	if c.Argv == nil {
		c.Argv = []string{"sh", "-c", script}
	}
	if c.Env == nil {
		c.Env = []string{"PATH=/usr/bin:/bin"}
	}
	if c.Dir == "" {
		c.Dir = t.TempDir()
		c.Writable = append(c.Writable, c.Dir)
	}
	c.Stdout = &out
	err := c.Run(context.Background())
	return out.String(), err
}

func TestNoNetwork(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	self, _ := os.Executable()
	for _, addr := range []string{ln.Addr().String(), "proxy.golang.org:443", "1.1.1.1:53"} {
		c := &Config{Argv: []string{self}, ReadOnly: []string{filepath.Dir(self)}, Env: []string{"PATH=/usr/bin:/bin", "SANDBOX_TEST_DIAL=" + addr}}
		out, err := run(t, c, "")
		if err == nil || strings.Contains(out, "connected") || !strings.Contains(out, "dial failed") {
			t.Errorf("dial %s from the sandbox: %v, %q; want the dial to fail", addr, err, out)
		}
	}
	// The same program outside connects: the test can fail.
	c := &Config{Argv: []string{self}, Env: []string{"SANDBOX_TEST_DIAL=" + ln.Addr().String()}, Unsandboxed: true}
	if out, err := run(t, c, ""); err != nil {
		t.Fatalf("dial outside the sandbox: %v %s", err, out)
	}
}

func TestHostFilesInvisible(t *testing.T) {
	home, _ := os.UserHomeDir()
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("key"), 0o600)
	out, err := run(t, &Config{Env: []string{"PATH=/usr/bin:/bin", "SECRET=" + secret, "REALHOME=" + home}}, `
		cat "$SECRET" && echo READ-SECRET
		ls -A "$REALHOME" && echo LISTED-HOME
		ls /root/.ssh && echo LISTED-SSH
		cat /etc/shadow && echo READ-SHADOW
		echo "home=$HOME"; ls -A "$HOME" | wc -l
		env | cut -d= -f1 | sort | tr '\n' ' '`)
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, leak := range []string{"READ-SECRET", "LISTED-HOME", "LISTED-SSH", "READ-SHADOW"} {
		if strings.Contains(out, leak) {
			t.Errorf("%s in the sandbox:\n%s", leak, out)
		}
	}
	if !strings.Contains(out, "home="+DefaultHome+"\n0\n") {
		t.Errorf("HOME is not an empty %s:\n%s", DefaultHome, out)
	}
	if !strings.Contains(out, "HOME PATH PWD REALHOME SECRET ") {
		t.Errorf("environment is not exactly the one given:\n%s", out)
	}
}

// TestParentInvisible: the sandbox's processes see only their own, and
// no argument or variable of the host's processes; bwrap, their parent,
// has an empty environment and its arguments in a file.
func TestParentInvisible(t *testing.T) {
	t.Setenv("SANDBOX_TEST_HOST_SECRET", "host-secret")
	out, err := run(t, &Config{}, `
		tr '\0' ' ' < /proc/$PPID/cmdline; echo
		tr '\0' ' ' < /proc/$PPID/environ; echo
		for p in /proc/[0-9]*; do tr '\0' ' ' < $p/cmdline; echo; done`)
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, leak := range []string{"host-secret", ".test", "-test."} {
		if strings.Contains(out, leak) {
			t.Errorf("%q is visible in the sandbox:\n%s", leak, out)
		}
	}
	if !strings.Contains(out, "bwrap --args 3") {
		t.Errorf("want the parent to be bwrap reading its arguments from a file:\n%s", out)
	}
}

// TestNoCapabilities: even run by root, the command has no capability
// (it cannot mount over what it was given, for one).
func TestNoCapabilities(t *testing.T) {
	out, _ := run(t, &Config{}, `grep CapEff /proc/self/status; mount -t tmpfs x /tmp && echo MOUNTED`)
	if !strings.Contains(out, "CapEff:\t0000000000000000") || strings.Contains(out, "MOUNTED") {
		t.Errorf("want no capabilities:\n%s", out)
	}
}

func TestReadOnlyBind(t *testing.T) {
	ro := t.TempDir()
	os.WriteFile(filepath.Join(ro, "f"), []byte("x"), 0o644)
	out, err := run(t, &Config{ReadOnly: []string{ro}, Env: []string{"PATH=/usr/bin:/bin", "RO=" + ro}}, `
		cat "$RO/f" && echo READ
		echo y > "$RO/f" && echo WROTE
		touch "$RO/new" && echo CREATED
		echo ok > out && echo WROTE-OWN`)
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !strings.Contains(out, "READ") || !strings.Contains(out, "WROTE-OWN") || strings.Contains(out, "WROTE\n") || strings.Contains(out, "CREATED") {
		t.Errorf("want reads and own writes only:\n%s", out)
	}
	if b, _ := os.ReadFile(filepath.Join(ro, "f")); string(b) != "x" {
		t.Errorf("the read-only file changed: %q", b)
	}
}

// TestLeftoversKilled: a background process the command leaves behind is
// dead once Run returns, with and without bwrap; it writes a heartbeat
// file while it lives.
func TestLeftoversKilled(t *testing.T) {
	for _, unsandboxed := range []bool{false, true} {
		dir := t.TempDir()
		beat := filepath.Join(dir, "beat")
		c := &Config{Dir: dir, Writable: []string{dir}, Unsandboxed: unsandboxed}
		out, err := run(t, c, `(while :; do echo . >> beat; sleep 0.05; done) & sleep 0.3; echo started`)
		if err != nil || !strings.Contains(out, "started") {
			t.Fatalf("unsandboxed=%v: %v %s", unsandboxed, err, out)
		}
		time.Sleep(200 * time.Millisecond)
		before, _ := os.ReadFile(beat)
		time.Sleep(500 * time.Millisecond)
		after, _ := os.ReadFile(beat)
		if len(before) == 0 || len(after) != len(before) {
			t.Errorf("unsandboxed=%v: the background process lives on (%d then %d beats)", unsandboxed, len(before), len(after))
		}
	}
}

func TestTimeout(t *testing.T) {
	for _, unsandboxed := range []bool{false, true} {
		start := time.Now()
		_, err := run(t, &Config{Timeout: 500 * time.Millisecond, Unsandboxed: unsandboxed}, `sleep 30 & sleep 30`)
		if !errors.Is(err, ErrTimeout) || time.Since(start) > 10*time.Second {
			t.Errorf("unsandboxed=%v: got %v after %v, want ErrTimeout within seconds", unsandboxed, err, time.Since(start))
		}
	}
}

func TestLimits(t *testing.T) {
	out, err := run(t, &Config{Limits: Limits{FileSize: 1 << 20, Files: 64, CPU: 100}}, `
		ulimit -c; ulimit -f; ulimit -n; ulimit -t
		head -c 2000000 /dev/zero > big; echo "size=$(wc -c < big)"`)
	if err != nil {
		t.Logf("exit: %v", err) // the shell may die of SIGXFSZ
	}
	for _, want := range []string{"0\n2048\n64\n100\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("limits: want %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "size=2000000") {
		t.Errorf("wrote past RLIMIT_FSIZE:\n%s", out)
	}
}
