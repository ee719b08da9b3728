package sandbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The outside review of the rebuilders (issue 13, second round).

// TestAttackRootOnlyFiles: run by root, the command is uid 65534 with no
// capability and no_new_privs, and cannot read a root-only file in what
// it was given to read, nor one in a directory under /root.
func TestAttackRootOnlyFiles(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the command runs as Nobody only when started by root")
	}
	ro := t.TempDir()
	os.WriteFile(filepath.Join(ro, "key"), []byte("root-only"), 0o600)
	os.WriteFile(filepath.Join(ro, "pub"), []byte("for-all"), 0o644)
	out, err := run(t, &Config{ReadOnly: []string{ro}, Env: []string{"PATH=/usr/bin:/bin", "RO=" + ro}}, `
		id -u; id -g; id -G
		grep -E '^(CapEff|CapPrm|CapBnd|NoNewPrivs)' /proc/self/status
		cat "$RO/pub"; echo
		cat "$RO/key" && echo READ-KEY
		echo own > own && echo WROTE-OWN
		grep -q '^root:' /etc/passwd && echo READ-PASSWD`)
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, want := range []string{"65534\n65534\n65534\n", "CapEff:\t0000000000000000", "CapPrm:\t0000000000000000", "CapBnd:\t0000000000000000", "NoNewPrivs:\t1", "for-all", "WROTE-OWN", "READ-PASSWD"} {
		if !strings.Contains(out, want) {
			t.Errorf("want %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "READ-KEY") || strings.Contains(out, "root-only") {
		t.Errorf("read a root-only file:\n%s", out)
	}
}

// TestAttackTmpOnDisk: /tmp is the directory given, on the disk (where
// RLIMIT_FSIZE and the disk bound it), not a tmpfs in memory; and every
// process has RLIMIT_AS.
func TestAttackTmpOnDisk(t *testing.T) {
	tmp := t.TempDir()
	out, err := run(t, &Config{Tmp: tmp}, `echo x > /tmp/probe && echo WROTE; grep ' /tmp ' /proc/self/mounts; ulimit -v`)
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if b, err := os.ReadFile(filepath.Join(tmp, "probe")); err != nil || string(b) != "x\n" {
		t.Errorf("/tmp/probe is not in the Tmp directory (%v):\n%s", err, out)
	}
	if strings.Contains(out, "tmpfs /tmp") {
		t.Errorf("/tmp is a tmpfs:\n%s", out)
	}
	if !strings.Contains(out, "\n16777216\n") {
		t.Errorf("want RLIMIT_AS 16 GiB (ulimit -v 16777216):\n%s", out)
	}
}
