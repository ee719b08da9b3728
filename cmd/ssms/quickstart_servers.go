package main

import (
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"ssms.dev/ssms/internal/admission"
	"ssms.dev/ssms/internal/httpserver"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/translog"
	"ssms.dev/ssms/witness"
)

// readKey reads a vkey file a previous step wrote.
func (s *script) readKey(path string) string {
	b, err := os.ReadFile(path)
	if err != nil && s.err == nil {
		s.err = err
	}
	return strings.TrimSpace(string(b))
}

// startServers runs, in this process, the two witnesses and the log that
// cosigns through them, as `ssms witness serve` and `ssms log serve` would,
// and returns the function that stops them all.
func (s *script) startServers(ln net.Listener, logURL, logKey string, witnessKeys []string) func() {
	var stops []func()
	stop := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	fail := func(err error) func() {
		s.err = err
		ln.Close()
		stop()
		return func() {}
	}
	if s.err != nil {
		return fail(s.err)
	}
	var urls []string
	for i := range witnessKeys {
		dir := fmt.Sprintf("witness-%d", i+1)
		w, lock, err := openWitness(dir, []string{logKey + "=" + logURL})
		if err != nil {
			return fail(err)
		}
		stops = append(stops, func() { lock.Release() })
		wl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fail(err)
		}
		srv := httpserver.New(w.Handler())
		go srv.Serve(httpserver.Listener(wl))
		stops = append(stops, func() { srv.Close() })
		urls = append(urls, "http://"+wl.Addr().String())
		fmt.Fprintf(s.out, "$ ssms witness serve --dir %s --addr %s --log %s=%s &\n    (served by this process)\n", dir, wl.Addr(), logKey, logURL)
	}
	fmt.Fprintf(s.out, "$ ssms log serve --dir log --addr %s --policy policy.json --witness %s &\n    (served by this process)\n",
		strings.TrimPrefix(logURL, "http://"), strings.Join(urls, " --witness "))
	pol, err := loadPolicy("policy.json")
	if err != nil {
		return fail(err)
	}
	col, err := witness.NewCollector(urls, witnessKeys)
	if err != nil {
		return fail(err)
	}
	ls, err := startLogServer("log", func() (net.Listener, error) { return ln, nil }, admission.New([]*policies.Policy{pol}), translog.DefaultKeyLimit, translog.WitnessOptions{Cosigner: col, Timeout: 6 * time.Second})
	if err != nil {
		return fail(err)
	}
	stops = append(stops, func() { ls.Close() })
	return stop
}
