// Command ssms signs, logs and verifies releases. Run `ssms --help`, or
// `ssms quickstart` to see the whole life cycle run locally.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/spf13/cobra"

	"ssms.dev/ssms/internal/clierr"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run executes one ssms command line and returns the exit code: 0 on
// success, 1 on any failure, after one "ssms: error: …" line.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C kills at once, if cleaning up hangs
	}()
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		if ctx.Err() != nil {
			// The command stopped because of Ctrl-C, and cleaned up (its
			// deferred removals ran): what it failed with is a symptom.
			err = errors.New("interrupted")
		}
		report(stderr, err)
		return 1
	}
	return 0
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "ssms",
		Short: "Sign, log and verify releases of secure messaging software",
		Long: `ssms is the SSMS release toolchain: maintainers sign release manifests k of n,
anyone checks them against a pinned trust policy.

Start with "ssms quickstart" to watch the whole life cycle run locally, then:

  ssms key generate --out alice                   # each maintainer, once
  ssms policy init --out policy.json --product P --maintainer alice.pub --maintainer bob.pub --threshold 2
  ssms policy sign policy.json --key alice.key    # and bob
  ssms release draft --product P --version 1.0.0 --sequence 1 --source-uri U --source-commit C \
       --artifact P=./build/P --policy policy.json --out release.json
  ssms release sign release.json --key alice.key  # each maintainer, offline
  ssms release verify release.json --policy policy.json --artifact P=./build/P

Passphrases come from SSMS_PASSWORD or a terminal prompt, never from a flag.`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Version:       version,
	}
	root.SetVersionTemplate(versionLine())
	root.SetOut(stdout)
	root.SetErr(stderr)
	defer registerCompletions(root) // once every command is added
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return withHint(err, fmt.Sprintf("see %q", c.CommandPath()+" --help"))
	})
	root.AddCommand(keyCmd(), policyCmd(), releaseCmd(), buildCmd(), rebuildCmd(), logCmd(), witnessCmd(), monitorCmd(), verifyEvidenceCmd(), bundleCmd(), verifyCmd(), mirrorCmd(), updateCmd(), quickstartCmd())
	return root
}

func withHint(err error, hint string) error { return clierr.Hint(err, hint) }

func report(w io.Writer, err error) { clierr.Report(w, "ssms", explainSecurity(err)) }
