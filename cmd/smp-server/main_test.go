package main

import (
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"ssms.dev/ssms/internal/scripttest"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"smp-server": func() {
			// SMPTEST_CLOCK_AHEAD moves the certificate checks' clock
			// ahead, to test the expiry warnings without waiting a year.
			if d, err := time.ParseDuration(os.Getenv("SMPTEST_CLOCK_AHEAD")); err == nil {
				now = func() time.Time { return time.Now().Add(d) }
			}
			os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
		},
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(e *testscript.Env) error {
			for _, name := range []string{"TLSADDR", "TEXTADDR", "METRICSADDR"} {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					return err
				}
				e.Setenv(name, ln.Addr().String())
				e.Setenv(strings.TrimSuffix(name, "ADDR")+"PORT", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
				ln.Close()
			}
			return nil
		},
		Cmds: commands(),
	})
}

func commands() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	cmds := scripttest.Commands()
	cmds["smptext"] = smpText
	cmds["httpget"] = httpGet
	return cmds
}

// smptext ADDR FILE sends FILE over the plain-text transport at ADDR
// (retrying the connection while the server starts) and prints what comes
// back within half a second.
func smpText(ts *testscript.TestScript, neg bool, args []string) {
	var conn net.Conn
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if conn, err = net.Dial("tcp", args[0]); err == nil {
			break
		}
	}
	ts.Check(err)
	defer conn.Close()
	_, err = conn.Write([]byte(ts.ReadFile(args[1])))
	ts.Check(err)
	conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	b, _ := io.ReadAll(conn)
	ts.Stdout().Write(b)
}

// httpget URL prints the body at URL.
func httpGet(ts *testscript.TestScript, neg bool, args []string) {
	resp, err := http.Get(args[0])
	ts.Check(err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	ts.Stdout().Write(b)
}
