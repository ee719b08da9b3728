package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"ssms.dev/ssms/internal/admission"
	"ssms.dev/ssms/internal/atomicfile"
	"ssms.dev/ssms/internal/capped"
	"ssms.dev/ssms/internal/dirlock"
	"ssms.dev/ssms/internal/httpserver"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/translog"
	"ssms.dev/ssms/witness"
)

func logCmd() *cobra.Command {
	c := &cobra.Command{Use: "log", Short: "Run a transparency log and check what it says"}
	c.AddCommand(logInitCmd(), logServeCmd(), logMigrateCmd(), logCheckpointCmd(), logVerifyProofCmd())
	return c
}

func logInitCmd() *cobra.Command {
	var dir, origin string
	c := &cobra.Command{
		Use:   "init --dir DIR --origin ORIGIN",
		Short: "Create a log in DIR and print its verifier key",
		Long: `Create an empty log in DIR (which must be empty or missing): its Ed25519 note
key (DIR/log.key, keep it private), its verifier key (printed, and in
DIR/log.vkey) and a signed checkpoint of size 0. The origin names the log in
every checkpoint; by convention it is the log's URL without the scheme.`,
		Example: `  ssms log init --dir /var/lib/ssms-log --origin log.example.org/releases`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			vkey, err := translog.Init(dir, origin)
			if err != nil {
				return err
			}
			fmt.Fprintln(c.OutOrStdout(), vkey)
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "directory for the log (required)")
	c.Flags().StringVar(&origin, "origin", "", "the log's origin line (required)")
	c.MarkFlagRequired("dir")
	c.MarkFlagRequired("origin")
	return c
}

func logServeCmd() *cobra.Command {
	var dir, addr string
	var policyFiles, witnesses []string
	var quorum, keyLimit int
	var timeout time.Duration
	var tf trillianFlags
	c := &cobra.Command{
		Use:   "serve --dir DIR --addr 127.0.0.1:8080 --policy policy.json... [--witness URL...] [--backend trillian --trillian ADDR --tree-id N --db DSN]",
		Short: "Serve the log over HTTP",
		Long: `Serve the log in DIR: POST /add, GET /checkpoint, the C2SP tlog-tiles resources
(GET /tile/L/N, /tile/entries/N) and GET /proof/inclusion?index=I&size=N and
/proof/consistency?old=M&new=N. An entry is admitted only if it is a DSSE
envelope of at most 65,535 bytes in canonical encoding (the bytes ssms writes)
whose every signature verifies under a distinct maintainer or rebuilder key of
a --policy, named by its key ID. The same payload signed by the same keys (or
fewer) is the same entry: the log answers with the logged one, whatever policy
it was logged under. Another envelope with a logged payload must add a
signature (a key with none logged on it) or carry every logged signer of it (a
merge; 403 otherwise, naming the logged signers). A new entry is charged to
one of its new signers, and each key adds at most --max-adds-per-hour entries per hour (429
with Retry-After beyond it; copies are free; the count restarts with the
server, or with --backend trillian is kept in the database, one count for
all front ends), so a stolen key spends only its own allowance. POST /add answers with a
C2SP tlog-proof once the entry is durable and covered by a signed checkpoint.
To log a policy rotation that adds keys, serve the new policy too. Stops
cleanly on SIGINT or SIGTERM.

With --witness URL (C2SP tlog-witness), every checkpoint is sent to the
witnesses before it is published, and the cosignatures that verify under a
witness key of the served policies are attached, at most one per key (a key
in several policies is one key). The log waits at most --witness-timeout, or
until --witness-quorum witnesses answered; a witness that is down makes
checkpoints carry fewer cosignatures, it never stops the log. Each error a
witness answers is a warning line on stderr.

A second server on DIR is refused: DIR is in use by process N.

With --backend trillian, the log is a Trillian PREORDERED_LOG tree
(--trillian, the log server's gRPC address; --tree-id) over MySQL or MariaDB (--db, a
go-sql-driver/mysql DSN, by default $SSMS_DB, which also holds the log's tiles
and checkpoints): several front ends, on several machines, serve one log with
the same API, checkpoints and witnesses. DIR then holds the note key (ssms log init
creates it; copy log.key and log.vkey to each front end's own DIR) and the
checkpoint this front end served last (DIR/served-checkpoint), so that one
restarted over a database restored from an older backup raises an alarm.
Front ends write the entries they take into the database in batches; one
front end at a time, elected by a database lock, gives them their indexes,
hands them to Trillian and signs checkpoints, only after Trillian's root
checks out against the entries and the last signed checkpoint; a
contradiction (a database restored from an old backup, say) is an
"ssms: error: ALARM" line and nothing is signed. See docs/deploy.md.`,
		Example: `  ssms log serve --dir ssms-log --addr 127.0.0.1:8080 --policy policy.json
  ssms log serve --dir ssms-log --addr 127.0.0.1:8080 --policy policy.json --policy policy-2.json \
      --witness http://127.0.0.1:8090 --max-adds-per-hour 60
  SSMS_DB='ssms:secret@tcp(db.internal:3306)/trillian' ssms log serve --backend trillian \
      --trillian trillian.internal:8090 --tree-id 5771968491331396226 --dir /etc/ssms-log --policy policy.json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			var pols []*policies.Policy
			for _, f := range policyFiles {
				p, err := loadPolicy(f)
				if err != nil {
					return err
				}
				pols = append(pols, p)
			}
			if len(pols) == 0 {
				return withHint(errors.New("no --policy given; the log would admit nothing"), "serve the policy whose keys sign the releases: --policy policy.json")
			}
			opts, err := witnessOptions(c, witnesses, pols, quorum, timeout)
			if err != nil {
				return err
			}
			if keyLimit < 0 {
				return errors.New("--max-adds-per-hour must be 0 (no limit) or more")
			}
			if err := tf.check(c); err != nil {
				return err
			}
			if tf.backend == "trillian" {
				return serveTrillianLog(c, dir, addr, admission.New(pols), keyLimit, opts, tf)
			}
			return serveLog(c, dir, addr, admission.New(pols), keyLimit, opts)
		},
	}
	c.Flags().StringArrayVar(&witnesses, "witness", nil, "URL of a witness to cosign checkpoints (repeat)")
	c.Flags().IntVar(&quorum, "witness-quorum", 0, "stop waiting once this many witnesses cosigned (default: all)")
	c.Flags().DurationVar(&timeout, "witness-timeout", 5*time.Second, "longest wait for witnesses per checkpoint")
	c.Flags().IntVar(&keyLimit, "max-adds-per-hour", translog.DefaultKeyLimit, "entries each signing key may add per hour (0: no limit)")
	c.Flags().StringVar(&dir, "dir", "", "the log's directory (required)")
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on (port 0: any free port)")
	c.Flags().StringArrayVar(&policyFiles, "policy", nil, "policy whose keys may add entries (repeat)")
	c.MarkFlagRequired("dir")
	tf.register(c)
	return c
}

// witnessOptions builds the cosigning of checkpoints: the witness keys come
// from the served policies, so the log attaches only cosignatures that
// clients of those policies will count.
func witnessOptions(c *cobra.Command, urls []string, pols []*policies.Policy, quorum int, timeout time.Duration) (translog.WitnessOptions, error) {
	if len(urls) == 0 {
		return translog.WitnessOptions{}, nil
	}
	var vkeys []string
	for _, p := range pols {
		vkeys = append(vkeys, p.Witnesses.VKeys...)
	}
	if len(vkeys) == 0 {
		return translog.WitnessOptions{}, withHint(errors.New("--witness given, but no served policy lists witness keys"), "add them to the policy: ssms policy init ... --witness VKEY")
	}
	col, err := witness.NewCollector(urls, vkeys)
	if err != nil {
		return translog.WitnessOptions{}, err
	}
	col.Quorum, col.Timeout = quorum, timeout
	stderr := c.ErrOrStderr()
	// A witness that answers with an error is worth a line each time; one
	// skipped while it is backed off is not.
	col.OnResult = func(_ string, err error) {
		if err != nil && !errors.Is(err, witness.ErrBackedOff) {
			fmt.Fprintf(stderr, "ssms: warning: cosigning: %v\n", err)
		}
	}
	return translog.WitnessOptions{Cosigner: col, Timeout: timeout + time.Second,
		OnError: func(err error) { fmt.Fprintf(stderr, "ssms: warning: cosigning: %v\n", err) }}, nil
}

func serveLog(c *cobra.Command, dir, addr string, admit translog.Admitter, keyLimit int, w translog.WitnessOptions) error {
	ls, err := startLogServer(dir, func() (net.Listener, error) { return net.Listen("tcp", addr) }, admit, keyLimit, w)
	if err != nil {
		return err
	}
	cp := ls.store.Checkpoint()
	fmt.Fprintf(c.ErrOrStderr(), "ssms: log %s (size %d) listening on http://%s\nssms: vkey %s\n", ls.store.Origin(), cp.Size, ls.addr, ls.store.VerifierKey())
	ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case err := <-ls.errc:
		ls.Close()
		return err
	case <-ctx.Done():
	}
	return ls.Close()
}

// logServer is a log served over HTTP: `ssms log serve`, and quickstart's
// log, which runs in-process.
type logServer struct {
	lock  *dirlock.Lock
	store *translog.Store
	seq   *translog.Sequencer
	srv   *http.Server
	addr  net.Addr
	errc  chan error
}

// startLogServer owns dir before it listens: a second server on the same
// directory and address is told the directory is in use, the real problem,
// rather than that the address is.
func startLogServer(dir string, listen func() (net.Listener, error), admit translog.Admitter, keyLimit int, w translog.WitnessOptions) (*logServer, error) {
	lock, err := ownDir(dir, "create the log with ssms log init")
	if err != nil {
		return nil, err
	}
	ln, err := listen()
	if err != nil {
		lock.Release()
		return nil, err
	}
	store, err := translog.Open(dir)
	if err != nil {
		ln.Close()
		lock.Release()
		return nil, err
	}
	ls := &logServer{lock: lock, store: store, addr: ln.Addr(), seq: translog.NewWitnessedSequencer(store, translog.DefaultMaxPending, translog.DefaultMaxBatch, w), errc: make(chan error, 1)}
	srv := translog.NewServer(store, ls.seq, admit)
	srv.KeyLimit = keyLimit
	ls.srv = httpserver.New(srv.Handler())
	go func() { ls.errc <- ls.srv.Serve(httpserver.Listener(ln)) }()
	return ls, nil
}

// Close stops accepting requests, lets those in progress finish (up to
// 10 s), then stops the sequencer, closes the store and gives up the
// directory.
func (ls *logServer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), httpserver.ShutdownGrace)
	defer cancel()
	err := ls.srv.Shutdown(ctx)
	ls.seq.Close()
	return errors.Join(err, ls.store.Close(), ls.lock.Release())
}

func logCheckpointCmd() *cobra.Command {
	var logURL, vkey, state string
	var asJSON bool
	c := &cobra.Command{
		Use:   "checkpoint --log URL --vkey VKEY [--state FILE]",
		Short: "Fetch and verify the log's checkpoint, and its consistency with the last one seen",
		Long: `Fetch the log's latest checkpoint and verify its signature. With --state FILE,
also verify that it is consistent with the checkpoint stored there (the log
only ever appended), then store the new one. A log that rewrote its history
is an error that shows both checkpoints.`,
		Example: `  ssms log checkpoint --log http://127.0.0.1:8080 --vkey "$LOG_VKEY" --state seen.cp
  ssms log checkpoint --json --log http://127.0.0.1:8080 --vkey "$LOG_VKEY"`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			client, err := translog.NewClient(logURL, vkey)
			if err != nil {
				return err
			}
			var old *translog.SignedCheckpoint
			if state != "" {
				b, err := os.ReadFile(state)
				switch {
				case errors.Is(err, fs.ErrNotExist):
				case err != nil:
					return err
				default:
					if old, err = translog.OpenCheckpoint(b, client.Origin, client.Key); err != nil {
						return fmt.Errorf("%s: %w", state, err)
					}
				}
			}
			latest, err := client.Update(c.Context(), old)
			if err != nil {
				return err
			}
			if state != "" {
				if err := atomicfile.Write(state, latest.Raw, 0o644); err != nil {
					return err
				}
			}
			if asJSON {
				return printJSON(c, map[string]any{"origin": latest.Origin, "size": latest.Size, "hash": latest.Hash.String(), "consistentWith": old != nil})
			}
			fmt.Fprintf(c.OutOrStdout(), "%s: size %d, root %s", latest.Origin, latest.Size, latest.Hash)
			if old != nil {
				fmt.Fprintf(c.OutOrStdout(), "; consistent with size %d", old.Size)
			}
			fmt.Fprintln(c.OutOrStdout())
			return nil
		},
	}
	c.Flags().StringVar(&logURL, "log", "", "the log's URL (required)")
	c.Flags().StringVar(&vkey, "vkey", "", "the log's verifier key (required)")
	c.Flags().StringVar(&state, "state", "", "file keeping the last verified checkpoint")
	c.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	c.MarkFlagRequired("log")
	c.MarkFlagRequired("vkey")
	return c
}

func logVerifyProofCmd() *cobra.Command {
	var entry, vkey, policyPath string
	c := &cobra.Command{
		Use:   "verify-proof FILE.proof --entry FILE (--policy policy.json | --vkey VKEY)",
		Short: "Verify a tlog-proof offline: the entry is in the log's signed tree",
		Long: `Verify a C2SP tlog-proof offline: its checkpoint is signed by the log and the
entry (the file, byte for byte) is included in it. When the log held a release
already in other bytes, release publish wrote those next to the proof, as
FILE.proof.entry: that is the entry to verify. With --policy, the log's key
comes from the policy (by the checkpoint's origin), and the checkpoint must
also carry the policy's witness quorum, a quorum of cosignatures no older than
its maxCheckpointAge: what a client demands before it installs anything.`,
		Example: `  ssms log verify-proof release.proof --entry release.json --policy policy.json
  ssms log verify-proof release.proof --entry release.json --vkey "$LOG_VKEY"`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			b, err := capped.ReadFile(args[0], translog.MaxProofSize)
			if err != nil {
				return err
			}
			p, err := translog.ParseProof(b)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			data, err := capped.ReadFile(entry, translog.MaxEntrySize)
			if err != nil {
				return err
			}
			var pol *policies.Policy
			if policyPath != "" {
				if pol, err = loadPolicy(policyPath); err != nil {
					return err
				}
				if vkey = logKeyByOrigin(pol, p.Checkpoint); vkey == "" {
					return fmt.Errorf("%s: the proof's log is not in the policy", args[0])
				}
			}
			if vkey == "" {
				return withHint(errors.New("no log key"), "pass --policy policy.json, or the log's key with --vkey")
			}
			v, err := translog.NewVerifier(vkey)
			if err != nil {
				return err
			}
			cp, err := translog.VerifyProof(p, data, v.Name(), v)
			if err != nil {
				err = fmt.Errorf("%s: %w", args[0], err)
				// release publish leaves the logged bytes there when the
				// log held the release in other bytes.
				if _, serr := os.Stat(args[0] + ".entry"); serr == nil && entry != args[0]+".entry" {
					return withHint(err, fmt.Sprintf("the proof may be for the logged envelope that release publish wrote: --entry %s.entry", args[0]))
				}
				return err
			}
			out := c.OutOrStdout()
			fmt.Fprintf(out, "%s is entry %d of %s, in the signed tree of size %d\n", entry, p.Index, cp.Origin, cp.Size)
			if pol != nil {
				q, err := witness.CheckQuorum(p.Checkpoint, pol.Witnesses.VKeys, pol.Witnesses.Quorum, time.Now(), pol.MaxAge())
				if err != nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
				if len(q.Witnesses) > 0 {
					fmt.Fprintf(out, "cosigned by %s (quorum %d)", strings.Join(q.Witnesses, ", "), pol.Witnesses.Quorum)
					if !q.Fresh.IsZero() {
						fmt.Fprintf(out, ", a quorum of them at or after %s", q.Fresh.UTC().Format(time.RFC3339))
					}
					fmt.Fprintln(out)
				}
			}
			return nil
		},
	}
	c.Flags().StringVar(&entry, "entry", "", "the logged file, byte for byte (required)")
	c.Flags().StringVar(&vkey, "vkey", "", "the log's verifier key")
	c.Flags().StringVar(&policyPath, "policy", "", "the trusted policy: log key and witness quorum")
	c.MarkFlagRequired("entry")
	return c
}

// logKeyByOrigin finds the policy's log whose origin signed checkpoint.
func logKeyByOrigin(p *policies.Policy, checkpoint []byte) string {
	origin, _, _ := strings.Cut(string(checkpoint), "\n")
	for _, l := range p.Logs {
		if l.Origin == origin {
			return l.VKey
		}
	}
	return ""
}
