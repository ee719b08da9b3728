package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/rebuild"
)

// sandbox-exec [--modcache DIR] SRC ARGV... runs ARGV in the sandbox a
// rebuild of the checkout SRC runs in: the same Runner.Sandbox the
// rebuilder's go mod verify and build use, with the build's environment,
// binds and limits. Its output goes to the script's stdout; its exit
// status decides success.
func sandboxExecCmd(ts *testscript.TestScript, neg bool, args []string) {
	modcache := ""
	if len(args) > 1 && args[0] == "--modcache" {
		modcache, args = ts.MkAbs(args[1]), args[2:]
	}
	if len(args) < 2 {
		ts.Fatalf("usage: sandbox-exec [--modcache DIR] SRC ARGV...")
	}
	run, err := rebuild.NewRunner(context.Background(), "", modcache, false)
	ts.Check(err)
	work, err := os.MkdirTemp("", "ssms-sandbox-exec-") // outside $WORK, as a rebuild's
	ts.Check(err)
	ts.Defer(func() { os.RemoveAll(work) })
	var out bytes.Buffer
	run.Output = &out
	recipe := &manifest.Recipe{Toolchain: run.Toolchain.Version, Command: []string{"go", "build", "."}, Environment: map[string]string{"CGO_ENABLED": "0"}}
	c := run.Sandbox(recipe, ts.MkAbs(args[0]), work)
	c.Argv = args[1:]
	err = c.Run(context.Background())
	ts.Stdout().Write(out.Bytes())
	if err != nil && !neg {
		ts.Fatalf("sandbox-exec: %v", err)
	}
	if err == nil && neg {
		ts.Fatalf("sandbox-exec succeeded unexpectedly")
	}
}

// listen NAME listens on a loopback port, sets NAME_HOST and NAME_PORT,
// and accepts (and closes) connections until the script ends.
func listenCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: listen NAME")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	ts.Defer(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	host, port, _ := strings.Cut(ln.Addr().String(), ":")
	ts.Setenv(args[0]+"_HOST", host)
	ts.Setenv(args[0]+"_PORT", port)
}
