// Command smp-client starts and holds private conversations over SMP
// servers: one invitation passed out of band, then end-to-end encrypted
// messages both ways.
//
//	smp-client invite NAME --server smp://FP@host   # prints the invitation (text, URI, QR)
//	smp-client join NAME INVITATION                 # accepts one
//	smp-client listen                               # completes handshakes, prints messages
//	smp-client send NAME TEXT...
//	smp-client chat NAME                            # interactive
//	smp-client --version                            # and whether this binary is a verified install
//
// Every command but contacts uses the network, and first checks that this
// binary is a verified install (package internal/startcheck,
// docs/verify-before-run.md), unless --allow-unverified.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"ssms.dev/ssms/internal/clierr"
	"ssms.dev/ssms/internal/startcheck"
	"ssms.dev/ssms/signer"
	"ssms.dev/ssms/smp"
	"ssms.dev/ssms/smp/agent"
)

// passphraseEnv supplies the state passphrase to scripts; newPassphraseEnv
// the passphrase for a state that was sealed with an empty one.
const (
	passphraseEnv    = "SMP_CLIENT_PASSWORD"
	newPassphraseEnv = "SMP_CLIENT_NEW_PASSWORD"
)

// version is set at build time: go build -ldflags "-X main.version=1.2.3".
var version = "devel"

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

type options struct {
	state   string
	alg     string
	servers []string // --allow-server
	in      io.Reader
	create  bool      // the command may start a new state (invite, join)
	retries io.Writer // where failed attempts to reach a server are told
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	opts := &options{in: stdin, retries: stderr}
	chk := &startcheck.Options{Prog: "smp-client", Product: "smp-client", StateFlag: "install-state"}
	var showVersion bool
	root := &cobra.Command{
		Use:   "smp-client",
		Short: "Private conversations over SMP servers, end-to-end encrypted",
		Long: `smp-client starts a conversation from one invitation passed out of band (read
aloud, pasted, or scanned as a QR code), then exchanges end-to-end encrypted
messages through SMP servers that learn nothing about who talks to whom.

Each conversation uses two queues (one per direction) with keys of their own.
The client's state (keys, queues, counters) is one file, encrypted with a
passphrase (not empty) from ` + passphraseEnv + ` or the terminal.

A contact you invite may ask for the answers on another server than your
invitation's: it is not dialed unless you allow it with --allow-server.

Before a command that uses the network (all but contacts), smp-client checks
that this binary is a verified install: the release that ssms update
installed, whose bundle still verifies under the pinned policy (the
project's, embedded, unless --policy). It refuses to run otherwise;
--allow-unverified runs a development build with a warning. --install-state
is the install's state directory (default PATH.ssms beside the binary; not
the conversations' --state). --version says whether this binary verifies.`,
		Example: `  smp-client invite bob --server smp://47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU@smp.example.org
  smp-client --version`,
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
		PersistentPreRunE: func(c *cobra.Command, _ []string) error {
			if !usesNetwork(c) {
				return nil
			}
			return chk.Run(c.ErrOrStderr())
		},
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetArgs(args)
	root.PersistentFlags().StringVar(&opts.state, "state", defaultState(), "the state file (env SMP_CLIENT_STATE)")
	root.PersistentFlags().StringVar(&opts.alg, "algorithm", "ed25519", "signing keys for new queues: ed25519 or rsa-pss")
	root.PersistentFlags().StringArrayVar(&opts.servers, "allow-server", nil, "a server an invited contact may put its reply queue on, besides the invitation's own (repeatable)")
	root.Flags().BoolVar(&showVersion, "version", false, "print the version, commit, Go version, and whether this binary is a verified install")
	chk.AddFlags(root, true)
	root.AddCommand(inviteCmd(opts), joinCmd(opts), listenCmd(opts), sendCmd(opts), chatCmd(opts), contactsCmd(opts), updateCmd(chk), forgetCmd(opts))
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return withHint(err, fmt.Sprintf("see %q", c.CommandPath()+" --help"))
	})
	if err := root.Execute(); err != nil {
		clierr.Report(stderr, "smp-client", err)
		return 1
	}
	return 0
}

// usesNetwork says whether c talks to servers, and so must run only as a
// verified install: every command but the local ones (contacts, help and
// shell completion; the root command only prints).
func usesNetwork(c *cobra.Command) bool {
	for p := c; p != nil; p = p.Parent() {
		switch p.Name() {
		case "contacts", "help", "completion", "__complete", "__completeNoDesc":
			return false
		}
	}
	return c.HasParent()
}

func withHint(err error, hint string) error { return clierr.Hint(err, hint) }

func defaultState() string {
	if p := os.Getenv("SMP_CLIENT_STATE"); p != "" {
		return p
	}
	dir := os.Getenv("XDG_DATA_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "smp-client.state"
		}
		dir = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(dir, "smp-client", "state")
}

// open unlocks the state and starts an agent over it.
func (o *options) open() (*agent.Agent, func() error, error) {
	alg, err := signer.ParseAlgorithm(o.alg)
	if err != nil || (alg != signer.Ed25519 && alg != signer.RSAPSS) {
		return nil, nil, fmt.Errorf("--algorithm %q: want ed25519 or rsa-pss", o.alg)
	}
	var servers []smp.Address
	for _, s := range o.servers {
		addr, err := smp.ParseAddress(s)
		if err != nil {
			return nil, nil, fmt.Errorf("--allow-server: %w", err)
		}
		servers = append(servers, addr)
	}
	if err := o.prepareState(); err != nil {
		return nil, nil, err
	}
	_, statErr := os.Stat(o.state)
	pass, err := signer.PassphraseFrom(passphraseEnv, "passphrase for "+o.state, errors.Is(statErr, os.ErrNotExist))
	if errors.Is(err, signer.ErrNoPassphrase) {
		return nil, nil, withHint(errors.New("no passphrase for the state"), "set "+passphraseEnv+" or run in a terminal")
	}
	if err != nil {
		return nil, nil, err
	}
	store, st, err := agent.OpenStore(o.state, pass)
	if errors.Is(err, agent.ErrEmptyPassphrase) {
		return nil, nil, withHint(err, "choose a passphrase: it guards the keys of every conversation")
	}
	if errors.Is(err, agent.ErrLocked) {
		return nil, nil, withHint(err, "a chat or listen is running on this state; send from there, or stop it")
	}
	if err != nil {
		return nil, nil, err
	}
	if store.NeedsPassphrase() {
		if err := rekey(o.state, store, st); err != nil {
			store.Close()
			return nil, nil, err
		}
	}
	a := agent.New(store, st)
	a.Algorithm, a.Servers, a.OnRetry = alg, servers, o.onRetry
	closeAll := func() error {
		err := a.Close()
		store.Close()
		return err
	}
	return a, closeAll, nil
}

// rekey gives a state sealed with an empty passphrase (the first client
// let one through) a real one before anything is written: saved as it
// was, it would stay readable by anyone with the file.
func rekey(path string, store *agent.Store, st *agent.State) error {
	pass, err := signer.PassphraseFrom(newPassphraseEnv, "the state has no passphrase; new passphrase for "+path, true)
	if errors.Is(err, signer.ErrNoPassphrase) {
		return withHint(fmt.Errorf("%s: %w", path, agent.ErrEmptyPassphrase), "set "+newPassphraseEnv+" or run in a terminal to choose one; the state is not written until then")
	}
	if err == nil {
		err = store.Rekey(pass, st)
	}
	return err
}

// withAgent runs fn with an agent over the unlocked state and a context
// that SIGINT or SIGTERM ends, then closes the agent, which saves the
// state; a failure to save is an error too.
func (o *options) withAgent(fn func(ctx context.Context, a *agent.Agent) error) error {
	a, done, err := o.open()
	if err != nil {
		return err
	}
	ctx, cancel := interrupted()
	defer cancel()
	err = fn(ctx, a)
	return errors.Join(err, done())
}

// interrupted is a context ended by SIGINT or SIGTERM.
func interrupted() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}
