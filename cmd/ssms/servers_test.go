package main

import (
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"ssms.dev/ssms/internal/dirlock"
	"ssms.dev/ssms/internal/httpserver"
)

// halfopen ADDR N opens N connections to ADDR, half of them silent and half
// stopping within the request headers, the way a slowloris holds a server,
// and fails unless the server closes all of them within its header timeout
// (plus a second of slack).
func halfOpenCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: halfopen ADDR N")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	limit := httpserver.Default.ReadHeader + time.Second
	start := time.Now()
	var wg sync.WaitGroup
	var open sync.Map
	for i := range n {
		conn, err := net.Dial("tcp", args[0])
		ts.Check(err)
		defer conn.Close()
		if i%2 == 1 {
			_, err := io.WriteString(conn, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
			ts.Check(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn.SetReadDeadline(start.Add(limit))
			_, err := io.Copy(io.Discard, conn)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				open.Store(i, true)
			}
		}()
	}
	wg.Wait()
	still := 0
	open.Range(func(any, any) bool { still++; return true })
	if still > 0 {
		ts.Fatalf("%d of %d half-open connections still open after %v", still, n, limit)
	}
	ts.Logf("all %d connections closed by the server after %v", n, time.Since(start).Round(10*time.Millisecond))
}

// lockdir DIR holds DIR's server lock in the test process until the script
// ends, as a running server would.
func lockDirCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: lockdir DIR")
	}
	dir := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(dir, 0o700))
	l, err := dirlock.Acquire(dir)
	ts.Check(err)
	ts.Defer(func() { l.Release() })
}
