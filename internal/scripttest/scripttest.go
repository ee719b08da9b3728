// Package scripttest holds the testscript commands the command tests
// share.
package scripttest

import (
	"net"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// Commands are capture and waitport, to add to testscript.Params.Cmds.
func Commands() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"capture":  capture,
		"waitport": waitPort,
	}
}

// capture VAR PROG ARGS... sets VAR to PROG's standard output, trimmed.
func capture(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: capture VAR PROG ARGS...")
	}
	ts.Check(ts.Exec(args[1], args[2:]...))
	ts.Setenv(args[0], strings.TrimSpace(ts.ReadFile("stdout")))
}

// waitport ADDR waits up to 10 seconds for ADDR to accept connections.
func waitPort(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitport ADDR")
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", args[0]); err == nil {
			c.Close()
			return
		}
	}
	ts.Fatalf("%s does not accept connections after 10s", args[0])
}
