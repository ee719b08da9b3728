package main

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"ssms.dev/ssms/internal/progress"
	"ssms.dev/ssms/internal/scripttest"
	"ssms.dev/ssms/manifest"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"ssms": func() { os.Exit(runCheckingJSON(os.Args[1:])) },
		// ssms-tty is ssms whose standard error shows what a terminal
		// would: the stage lines of long commands.
		"ssms-tty": func() {
			newStages = progress.ForcedStages
			os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
		},
	})
}

// TestScripts runs testdata/script/*.txtar against the real ssms binary.
// The scripts have a KMS: sigstore-kms-ssmstest, built here, on PATH.
func TestScripts(t *testing.T) {
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "sigstore-kms-ssmstest"), "ssms.dev/ssms/signer/internal/kmsplugin")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the KMS plugin: %v\n%s", err, out)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(e *testscript.Env) error {
			e.Setenv("PATH", bin+string(os.PathListSeparator)+e.Getenv("PATH"))
			e.Setenv("SSMS_PASSWORD", "quiet-test-passphrase")
			repo, err := filepath.Abs("../..")
			if err != nil {
				return err
			}
			e.Setenv("SSMS_REPO", repo) // quickstart releases smp-server from it
			for _, name := range []string{"LOGADDR", "W1ADDR", "W2ADDR", "FORKADDR", "MIRRORADDR"} {
				addr, err := freeAddr()
				if err != nil {
					return err
				}
				e.Setenv(name, addr)
			}
			return nil
		},
		Cmds: commands(),
	})
}

// commands are the shared script commands and those of these scripts.
func commands() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	cmds := scripttest.Commands()
	cmds["truncate"] = truncateCmd
	cmds["flipbyte"] = flipByteCmd
	cmds["dupsig"] = dupSigCmd
	cmds["envfile"] = envFileCmd
	cmds["waitfor"] = waitForCmd
	cmds["waitglob"] = waitGlobCmd
	cmds["halfopen"] = halfOpenCmd
	cmds["lockdir"] = lockDirCmd
	cmds["sandbox-exec"] = sandboxExecCmd
	cmds["listen"] = listenCmd
	return cmds
}

// truncate FILE N keeps the first N bytes of FILE.
func truncateCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: truncate FILE N")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	ts.Check(os.Truncate(ts.MkAbs(args[0]), int64(n)))
}

// flipbyte FILE OFFSET inverts one byte of FILE (negative: from the end).
func flipByteCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: flipbyte FILE OFFSET")
	}
	b, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	off, err := strconv.Atoi(args[1])
	ts.Check(err)
	if off < 0 {
		off += len(b)
	}
	b[off] ^= 0xff
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), b, 0o644))
}

// dupsig IN OUT appends to IN's signatures a copy of the first one without
// its key ID, and writes the envelope to OUT.
func dupSigCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: dupsig IN OUT")
	}
	b, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	env, err := manifest.ParseEnvelope(b)
	ts.Check(err)
	env.Signatures = append(env.Signatures, manifest.Signature{Sig: env.Signatures[0].Sig})
	out, err := env.Marshal()
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), out, 0o644))
}

// freeAddr finds a free loopback port for a server a script starts. The
// port is released before the server binds it, so scripts running in
// parallel could be handed the same one: handedOut prevents that.
func freeAddr() (string, error) {
	handedOutMu.Lock()
	defer handedOutMu.Unlock()
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		addr := ln.Addr().String()
		ln.Close()
		if !handedOut[addr] {
			handedOut[addr] = true
			return addr, nil
		}
	}
}

var (
	handedOutMu sync.Mutex
	handedOut   = map[string]bool{}
)

// envfile NAME FILE sets NAME to FILE's content without surrounding space.
func envFileCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: envfile NAME FILE")
	}
	ts.Setenv(args[0], strings.TrimSpace(ts.ReadFile(args[1])))
}

// waitfor URL polls URL until it answers 200, for up to 10 seconds.
func waitForCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitfor URL")
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(args[0]); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
	}
	ts.Fatalf("%s did not answer within 10s", args[0])
}

// waitglob PATTERN waits up to 10 seconds for a file matching PATTERN.
func waitGlobCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitglob PATTERN")
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m, _ := filepath.Glob(ts.MkAbs(args[0])); len(m) > 0 {
			return
		}
	}
	ts.Fatalf("no file matches %s after 10s", args[0])
}
