package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"ssms.dev/ssms/internal/atomicfile"
	"ssms.dev/ssms/internal/dirlock"
	"ssms.dev/ssms/internal/httpserver"
	"ssms.dev/ssms/witness"
)

func witnessCmd() *cobra.Command {
	c := &cobra.Command{Use: "witness", Short: "Run a witness that cosigns logs' checkpoints"}
	c.AddCommand(witnessInitCmd(), witnessServeCmd())
	return c
}

func witnessInitCmd() *cobra.Command {
	var dir, name string
	c := &cobra.Command{
		Use:   "init --dir DIR --name NAME",
		Short: "Create a witness key in DIR and print its verifier key",
		Long: `Create a witness: an Ed25519 cosigner key (DIR/witness.key, keep it private)
for C2SP tlog-cosignature/v1, and print its verifier key, which policies list
under witnesses. By convention NAME is the witness's URL without the scheme.`,
		Example: `  ssms witness init --dir ssms-witness --name witness.example.org`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			skey, vkey, err := witness.GenerateKey(name)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			if err := atomicfile.Create(filepath.Join(dir, "witness.vkey"), []byte(vkey+"\n"), 0o644); err != nil {
				return err
			}
			if err := atomicfile.Create(filepath.Join(dir, "witness.key"), []byte(skey+"\n"), 0o600); err != nil {
				return err
			}
			fmt.Fprintln(c.OutOrStdout(), vkey)
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "directory for the witness (required)")
	c.Flags().StringVar(&name, "name", "", "the witness's name (required)")
	c.MarkFlagRequired("dir")
	c.MarkFlagRequired("name")
	return c
}

func witnessServeCmd() *cobra.Command {
	var dir, addr string
	var logs []string
	c := &cobra.Command{
		Use:   "serve --dir DIR --addr ADDR --log VKEY[=URL]...",
		Short: "Cosign checkpoints of the given logs (C2SP tlog-witness)",
		Long: `Serve POST /add-checkpoint (C2SP tlog-witness) for the logs named by their
verifier keys. The witness cosigns a checkpoint only if it is consistent with
the last one it cosigned for that log, and stores it before answering. When a
log presents a checkpoint that contradicts one it signed before, the witness
keeps both, with the proof, in DIR/evidence (check with ssms verify-evidence),
once per pair of checkpoints. When the log's proof does not prove the fork
(always the case when the size cosigned last is a power of two, since an
RFC 6962 proof then omits that tree's root), the two signed checkpoints are
first kept, before the answer, as DIR/evidence/*.incomplete, which
ssms verify-evidence --policy completes from the log's tiles. Given the log's
URL (--log VKEY=URL), the witness completes it itself from the log's tiles,
which the forked checkpoint's signature authenticates; if that fails (a log
that does not serve its tiles) it warns and the .incomplete file stays. At
most 16 .incomplete files are kept (anyone holding two checkpoints the log
signed can send them with a garbage proof); past that the witness warns once
and keeps no more until they are completed or removed.

Each refused checkpoint (other than a 409, which the log resolves) and each
evidence file is a warning line on stderr. A second witness on DIR is
refused: DIR is in use by process N.`,
		Example: `  ssms witness serve --dir ssms-witness --addr 127.0.0.1:8090 --log "$LOG_VKEY=http://127.0.0.1:8080"`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			w, lock, err := openWitness(dir, logs)
			if err != nil {
				return err
			}
			defer lock.Release()
			stderr := c.ErrOrStderr()
			w.Warn = func(msg string) { fmt.Fprintf(stderr, "ssms: warning: %s\n", msg) }
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.ErrOrStderr(), "ssms: witness listening on http://%s for %d logs\n", ln.Addr(), len(logs))
			return serveUntilSignal(c, ln, w.Handler())
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "the witness's directory (required)")
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:8090", "address to listen on")
	c.Flags().StringArrayVar(&logs, "log", nil, "verifier key of a log to witness, as VKEY or VKEY=URL (repeat; required)")
	c.MarkFlagRequired("dir")
	c.MarkFlagRequired("log")
	return c
}

// openWitness opens the witness in dir, which this process then owns until
// it releases the lock.
func openWitness(dir string, logs []string) (*witness.Witness, *dirlock.Lock, error) {
	skey, err := os.ReadFile(filepath.Join(dir, "witness.key"))
	if err != nil {
		return nil, nil, withHint(fmt.Errorf("%s is not a witness directory: %w", dir, err), "create one with ssms witness init")
	}
	cosigner, err := witness.NewCosigner(strings.TrimSpace(string(skey)))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", filepath.Join(dir, "witness.key"), err)
	}
	lock, err := ownDir(dir, "create one with ssms witness init")
	if err != nil {
		return nil, nil, err
	}
	w, err := witness.New(dir, cosigner, logs)
	if err != nil {
		lock.Release()
		return nil, nil, err
	}
	return w, lock, nil
}

// serveUntilSignal serves h on ln until SIGINT or SIGTERM, then shuts down.
func serveUntilSignal(c *cobra.Command, ln net.Listener, h http.Handler) error {
	ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return httpserver.Serve(ctx, httpserver.New(h), ln)
}
