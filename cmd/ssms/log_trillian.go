package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"ssms.dev/ssms/internal/httpserver"
	"ssms.dev/ssms/translog"
	"ssms.dev/ssms/translog/trillianlog"
)

// trillianFlags are ssms log serve's flags for the Trillian backend.
type trillianFlags struct {
	backend string
	addr    string
	treeID  int64
	db      string
}

func (f *trillianFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&f.backend, "backend", "embedded", "where the log is stored: embedded (in --dir) or trillian")
	c.Flags().StringVar(&f.addr, "trillian", "", "with --backend trillian: the Trillian log server's gRPC address")
	c.Flags().Int64Var(&f.treeID, "tree-id", 0, "with --backend trillian: the Trillian PREORDERED_LOG tree")
	c.Flags().StringVar(&f.db, "db", "", "with --backend trillian: the database DSN (default $SSMS_DB; user:password@tcp(host:port)/db)")
}

func (f *trillianFlags) check(c *cobra.Command) error {
	switch f.backend {
	case "embedded":
		for _, name := range []string{"trillian", "tree-id", "db"} {
			if c.Flags().Changed(name) {
				return withHint(fmt.Errorf("--%s is for --backend trillian", name), "add --backend trillian, or drop --"+name)
			}
		}
		return nil
	case "trillian":
	default:
		return fmt.Errorf("--backend %q: want embedded or trillian", f.backend)
	}
	if f.db == "" {
		f.db = os.Getenv("SSMS_DB")
	}
	switch {
	case f.addr == "":
		return withHint(errors.New("--backend trillian needs --trillian ADDR"), "the gRPC address of trillian_log_server, e.g. --trillian 127.0.0.1:8090")
	case f.treeID <= 0:
		return withHint(errors.New("--backend trillian needs --tree-id N"), "the ID createtree --tree_type=PREORDERED_LOG printed for the log's tree")
	case f.db == "":
		return withHint(errors.New("--backend trillian needs --db DSN or $SSMS_DB"), "the database of Trillian's tree, e.g. SSMS_DB='user:password@tcp(127.0.0.1:3306)/trillian'")
	}
	return nil
}

// servedFile, in a front end's directory, keeps the latest checkpoint it
// served (trillianlog.Options.StateFile).
const servedFile = "served-checkpoint"

// serveTrillianLog serves the log on Trillian: this process is one front
// end among any number, each with a directory of its own holding a copy of
// the key and the checkpoint it served last.
func serveTrillianLog(c *cobra.Command, dir, addr string, admit translog.Admitter, keyLimit int, w translog.WitnessOptions, f trillianFlags) error {
	lock, key, err := ownLogKey(dir, "create the key with ssms log init, and copy log.key and log.vkey to each front end's directory")
	if err != nil {
		return err
	}
	defer lock.Release()
	stderr := c.ErrOrStderr()
	ctx, cancel := context.WithTimeout(c.Context(), time.Minute)
	defer cancel()
	l, err := trillianlog.Open(ctx, f.db, f.addr, trillianlog.Options{TreeID: f.treeID, Key: key, Witness: w,
		StateFile: filepath.Join(dir, servedFile),
		OnError:   func(err error) { fmt.Fprintf(stderr, "ssms: warning: %v\n", err) },
		OnAlarm:   func(err error) { fmt.Fprintf(stderr, "ssms: error: %v\n", err) }})
	if err != nil {
		return fmt.Errorf("tree %d at %s: %w", f.treeID, f.addr, err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		l.Close()
		return err
	}
	srv := translog.NewBackendServer(l, admit)
	srv.KeyLimit = keyLimit
	hs := httpserver.New(srv.Handler())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(httpserver.Listener(ln)) }()
	fmt.Fprintf(stderr, "ssms: log %s (size %d, Trillian tree %d) listening on http://%s\nssms: vkey %s\n",
		l.Origin(), l.Checkpoint().Size, f.treeID, ln.Addr(), l.VerifierKey())
	sig, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case err = <-errc:
	case <-sig.Done():
	}
	sctx, scancel := context.WithTimeout(context.Background(), httpserver.ShutdownGrace)
	defer scancel()
	return errors.Join(err, hs.Shutdown(sctx), l.Close())
}
