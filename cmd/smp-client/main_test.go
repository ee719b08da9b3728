package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"ssms.dev/ssms/internal/scripttest"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"smp-client": func() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// buildServer builds smp-server for the scripts: conversations need a
// real server, run as its users run it.
func buildServer(t *testing.T) string {
	t.Helper()
	bin := t.TempDir()
	out, err := exec.Command("go", "build", "-o", filepath.Join(bin, "smp-server"), "ssms.dev/ssms/cmd/smp-server").CombinedOutput()
	if err != nil {
		t.Fatalf("building smp-server: %v\n%s", err, out)
	}
	return bin
}

// freePorts finds n distinct free ports: the listeners stay open until
// all are found, so no two are the same.
func freePorts(t testing.TB, n int) []string {
	var ports []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		ports = append(ports, port)
	}
	return ports
}

func TestScripts(t *testing.T) {
	bin := buildServer(t)
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(e *testscript.Env) error {
			e.Setenv("PATH", bin+string(os.PathListSeparator)+e.Getenv("PATH"))
			ports := freePorts(t, 2)
			e.Setenv("SMPPORT", ports[0])
			e.Setenv("SMPPORT2", ports[1])
			return nil
		},
		Cmds: scripttest.Commands(),
	})
}
