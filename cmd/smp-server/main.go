// Command smp-server runs an SMP (Simplex Messaging Protocol) server.
//
//	smp-server init --dir D [--host H] [--port 5223]   # prints the address
//	smp-server cert renew --dir D [--ca-key K]         # a new online certificate
//	smp-server cert show --dir D                       # the address, and when the certificate expires
//	smp-server start --dir D [--addr :5223] [--text-addr 127.0.0.1:5224] [--metrics ADDR] [limits]
//	smp-server --version                               # and whether this binary is a verified install
//
// start first checks that this binary is a verified install (package
// internal/startcheck, docs/verify-before-run.md) and refuses to serve
// otherwise, unless --allow-unverified.
package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"ssms.dev/ssms/internal/clierr"
	"ssms.dev/ssms/internal/dirlock"
	"ssms.dev/ssms/internal/httpserver"
	"ssms.dev/ssms/internal/metrics"
	"ssms.dev/ssms/internal/startcheck"
	"ssms.dev/ssms/smp"
	"ssms.dev/ssms/smp/server"
)

// version is set at build time: go build -ldflags "-X main.version=1.2.3".
var version = "devel"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	chk := &startcheck.Options{Prog: "smp-server", Product: "smp-server"}
	var showVersion bool
	root := &cobra.Command{
		Use:   "smp-server",
		Short: "Run an SMP server for private messaging",
		Long: `Run an SMP server for private messaging.

Before it serves, smp-server start checks that this binary is a verified
install: the release that ssms update installed, whose bundle still verifies
under the pinned policy (the project's, embedded, unless --policy). It refuses
to serve otherwise; --allow-unverified runs a development build with a
warning. --version says whether this binary verifies.`,
		Example: `  smp-server init --dir /var/lib/smp --host smp.example.org
  smp-server start --dir /var/lib/smp
  smp-server --version`,
		Args:          cobra.NoArgs,
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(c *cobra.Command, _ []string) error {
			if !showVersion {
				return c.Help()
			}
			chk.PrintVersion(c.OutOrStdout(), version)
			return nil
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetArgs(args)
	root.Flags().BoolVar(&showVersion, "version", false, "print the version, commit, Go version, and whether this binary is a verified install")
	chk.AddFlags(root, false)
	root.AddCommand(initCmd(), certCmd(), renewAliasCmd(), withAutoUpdate(startCmd(chk), chk), updateCmd(chk))
	if err := root.Execute(); err != nil {
		clierr.Report(stderr, "smp-server", err)
		return 1
	}
	return 0
}

func initCmd() *cobra.Command {
	var dir, host string
	var port int
	c := &cobra.Command{
		Use:   "init --dir DIR [--host HOST]",
		Short: "Create the server's identity and print its address",
		Long: `Create the server's long-lived CA (Ed25519) and an online certificate it signs,
and print the server's address, smp://<CA fingerprint>@host:port, which clients
use to reach it and to recognise it. Move DIR/ca.key offline: the server does
not need it to run, only to make a new online certificate. The online
certificate is valid for one year: clients refuse it once it has expired
(smp-server cert renew makes a new one; start warns a month ahead).`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			addr, err := server.Init(dir, host, port)
			if err != nil {
				return err
			}
			fmt.Fprintln(c.OutOrStdout(), addr)
			fmt.Fprintf(c.ErrOrStderr(), "smp-server: hint: move %s/ca.key to offline storage\n", dir)
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "directory for the server's files (required)")
	c.Flags().StringVar(&host, "host", "localhost", "host name clients use")
	c.Flags().IntVar(&port, "port", smp.DefaultPort, "port clients use")
	c.MarkFlagRequired("dir")
	return c
}

func startCmd(chk *startcheck.Options) *cobra.Command {
	var dir, addr, textAddr, metricsAddr, storeLog string
	var insecureText, persistMessages bool
	lim := server.Config{}
	c := &cobra.Command{
		Use:   "start --dir DIR [--addr :5223] [--text-addr 127.0.0.1:5224] [--metrics ADDR]",
		Short: "Serve SMP over TLS 1.3 (and plain text, for testing)",
		Long: `Serve SMP over TLS 1.3 with fixed 16 KiB blocks. --text-addr also opens the
plain-text transport of the specification (for telnet and nc), on a loopback
address only unless --insecure-text. The server keeps no logs of commands,
addresses or queue IDs; --metrics serves aggregate Prometheus counters.
Queues survive restarts and crashes in DIR/queues.log (compacted at start,
and while serving once it is twice its last compacted size and over 4 MiB);
with --persist-messages undelivered messages do too. Every change is on disk
before the server answers the command that made it. Stops cleanly on SIGINT
or SIGTERM. One server owns DIR: a second one on it is refused.

The limits bound what clients can make the server hold, since creating a
queue and sending to a new one need no key: past a queue or server limit a
SEND gets ERR SIZE and a CONN gets ERR AUTH, and a connection that does not
read its answers is closed once --outbox-bytes of them wait (or once the
answers waiting on all connections would pass --outbox-total).

Connections are bounded by --max-clients and, from one IP address, by
--max-per-source, TLS handshakes included. A connection is closed after
--idle-timeout of silence, or when a transmission is not whole within
--tx-timeout of its first byte, so trickling bytes does not hold a place.

Before anything else, start checks that this binary is a verified install
(the release ssms update installed, its bundle verified again under the pinned
policy) and exits 1 otherwise. The first start of a new version confirms its
install, or rolls it back and restarts the previous version.
--allow-unverified runs a development build anyway, with a warning; --policy
pins a deployment's own policy instead of the project's; --state is the state
directory (default PATH.ssms beside the binary).`,
		Example: `  smp-server start --dir /var/lib/smp
  smp-server start --dir srv --addr 127.0.0.1:5223 --text-addr 127.0.0.1:5224 --allow-unverified`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := checkLimits(lim); err != nil {
				return err
			}
			if err := chk.Run(c.ErrOrStderr()); err != nil {
				return err
			}
			cfg, address, err := server.LoadTLS(dir)
			if err != nil {
				return err
			}
			if err := checkCertificate(c.ErrOrStderr(), cfg, dir); err != nil {
				return err
			}
			// Two servers on one store log would each replay it and
			// append to it: queues lost or revived after a restart.
			lock, err := dirlock.Acquire(dir)
			if err != nil {
				return err
			}
			defer lock.Release()
			reg := metrics.NewRegistry()
			lim.Metrics = reg
			srv := server.New(lim)
			switch storeLog {
			case "on":
				l, err := server.OpenStoreLog(dir, srv, persistMessages)
				if err != nil {
					return err
				}
				defer l.Close()
			case "off":
			default:
				return fmt.Errorf("--store-log %q: want on or off", storeLog)
			}
			ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			go srv.Janitor(ctx, time.Minute)
			var lns []net.Listener
			defer func() {
				for _, ln := range lns {
					ln.Close()
				}
			}()
			listen := func(a string) (net.Listener, error) {
				ln, err := net.Listen("tcp", a)
				if err == nil {
					lns = append(lns, ln)
				}
				return ln, err
			}
			ln, err := listen(addr)
			if err != nil {
				return err
			}
			// The accept loops retry what passes (EMFILE and the like); an
			// error they return is one they cannot: stop rather than live on
			// accepting nothing.
			serveErr := make(chan error, 2)
			go func() { serveErr <- srv.ServeTLS(ln, cfg) }()
			fmt.Fprintf(c.ErrOrStderr(), "smp-server: %s listening on %s (TLS)\n", address, ln.Addr())
			warnPort(c.ErrOrStderr(), address, ln.Addr())
			go watchCertificate(ctx, c.ErrOrStderr(), cfg, dir)
			if textAddr != "" {
				if err := loopbackOnly(textAddr, insecureText); err != nil {
					return err
				}
				tl, err := listen(textAddr)
				if err != nil {
					return err
				}
				go func() { serveErr <- srv.ServeText(tl) }()
				fmt.Fprintf(c.ErrOrStderr(), "smp-server: plain text on %s\n", tl.Addr())
			}
			if metricsAddr != "" {
				ml, err := listen(metricsAddr)
				if err != nil {
					return err
				}
				go httpserver.New(reg.Handler()).Serve(httpserver.Listener(ml))
			}
			select {
			case <-ctx.Done():
				return nil
			case err := <-serveErr:
				return err
			}
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "the server's directory (required)")
	c.Flags().StringVar(&addr, "addr", fmt.Sprintf(":%d", smp.DefaultPort), "TLS address to listen on")
	c.Flags().StringVar(&textAddr, "text-addr", "", "also serve plain text here (loopback only)")
	c.Flags().BoolVar(&insecureText, "insecure-text", false, "allow --text-addr on a non-loopback address")
	c.Flags().StringVar(&metricsAddr, "metrics", "", "serve Prometheus counters here")
	c.Flags().StringVar(&storeLog, "store-log", "on", "keep queues across restarts and crashes in DIR/queues.log: on or off")
	c.Flags().BoolVar(&persistMessages, "persist-messages", false, "also keep undelivered messages in the store log")
	f := c.Flags()
	f.IntVar(&lim.QueueQuota, "queue-messages", server.DefaultQueueQuota, "messages one queue holds")
	f.IntVar(&lim.QueueBytes, "queue-bytes", server.DefaultQueueBytes, "message bytes one queue holds")
	f.IntVar(&lim.MaxMessages, "max-messages", server.DefaultMaxMessages, "messages the server holds")
	f.Int64Var(&lim.MaxBytes, "max-bytes", server.DefaultMaxBytes, "message bytes the server holds")
	f.IntVar(&lim.MaxQueues, "max-queues", server.DefaultMaxQueues, "queues on the server")
	f.IntVar(&lim.ConnQueues, "conn-queues", server.DefaultConnQueues, "queues one connection may create")
	f.IntVar(&lim.OutboxBytes, "outbox-bytes", server.DefaultOutboxBytes, "unread answer bytes before a connection is closed")
	f.IntVar(&lim.MaxClients, "max-clients", server.DefaultMaxClients, "connections at once, TLS handshakes included")
	f.IntVar(&lim.MaxPerSource, "max-per-source", server.DefaultMaxPerSource, "connections at once from one IP address (counted in memory only, never logged)")
	f.DurationVar(&lim.IdleTimeout, "idle-timeout", server.DefaultIdleTimeout, "a connection that sends nothing for this long is closed")
	f.DurationVar(&lim.TxTimeout, "tx-timeout", server.DefaultTxTimeout, "a transmission must arrive whole within this of its first byte")
	f.Int64Var(&lim.OutboxTotal, "outbox-total", server.DefaultOutboxTotal, "unread answer bytes of all connections; past it the connection answered is closed")
	chk.AddFlags(c, false)
	c.MarkFlagRequired("dir")
	return c
}

// checkLimits refuses a limit that is not positive: the server would read
// 0 as "the default", and a negative one as nothing at all.
func checkLimits(l server.Config) error {
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"queue-messages", int64(l.QueueQuota)}, {"queue-bytes", int64(l.QueueBytes)},
		{"max-messages", int64(l.MaxMessages)}, {"max-bytes", l.MaxBytes}, {"max-queues", int64(l.MaxQueues)},
		{"conn-queues", int64(l.ConnQueues)}, {"outbox-bytes", int64(l.OutboxBytes)}, {"outbox-total", l.OutboxTotal},
		{"max-clients", int64(l.MaxClients)}, {"max-per-source", int64(l.MaxPerSource)},
	} {
		if f.v <= 0 {
			return fmt.Errorf("--%s %d: must be positive", f.name, f.v)
		}
	}
	for name, d := range map[string]time.Duration{"idle-timeout": l.IdleTimeout, "tx-timeout": l.TxTimeout} {
		if d <= 0 {
			return fmt.Errorf("--%s %v: must be positive", name, d)
		}
	}
	return nil
}

// loopbackOnly refuses to expose the unencrypted transport off the machine
// unless the operator insists.
func loopbackOnly(addr string, insecure bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if host == "localhost" || (ip != nil && ip.IsLoopback()) || insecure {
		return nil
	}
	return errors.New("--text-addr " + addr + " is not a loopback address; the plain-text transport is unencrypted (add --insecure-text if you mean it)")
}
