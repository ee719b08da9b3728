// Package servertest runs a real SMP server over TLS on loopback, for the
// tests of code that talks to one.
package servertest

import (
	"net"
	"path/filepath"
	"testing"

	"ssms.dev/ssms/smp"
	"ssms.dev/ssms/smp/server"
)

// Start creates a server identity in a temporary directory, serves TLS on
// a free loopback port until the test ends, and returns its address.
func Start(tb testing.TB) smp.Address {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "server")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	if _, err := server.Init(dir, "127.0.0.1", ln.Addr().(*net.TCPAddr).Port); err != nil {
		tb.Fatal(err)
	}
	cfg, addr, err := server.LoadTLS(dir)
	if err != nil {
		tb.Fatal(err)
	}
	go server.New(server.Config{}).ServeTLS(ln, cfg)
	return addr
}
