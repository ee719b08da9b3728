package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"ssms.dev/ssms/internal/updatecli"
	"ssms.dev/ssms/verifier"
)

func updateCmd() *cobra.Command {
	f := &updatecli.Flags{}
	c := &cobra.Command{
		Use:   "update --policy P --mirror URL... --product X --install PATH",
		Short: "Install the newest verified release of a program from untrusted mirrors",
		Long: `Update the program installed at --install to the newest release of --product
that the log holds and the verifier accepts.

The log decides what "newest" is, not the mirrors: ssms fetches the log's
checkpoint, checks that a quorum of witnesses cosigned it recently
(maxCheckpointAge) and that it extends the one seen before, reads the entries
added since, and picks the newest release the policy's maintainers approved.
It then asks each --mirror in turn for that release's bundle and artifact. A
mirror that does not have it is reported as withholding it; when none has it,
that is a freeze, and the command fails. An offer is verified (signatures,
policy chain, log inclusion, rebuilds, rollback) before its artifact is
downloaded, and the download is cut at the signed size and must hash to the
signed digest.

The install is a journal in the state directory (default: PATH.ssms): whatever
interrupts it, the program at PATH is the old or the new verified version, and
the next run finishes or undoes it. The previous binary stays as
PATH.previous. Every refusal leaves the running version in place and writes a
failure report to STATE/reports (and posts it to --report, if given).

A mirror is a directory (or file:///PATH) or an http(s) URL filled by "ssms
mirror add". A directory mirror's files must be regular files reached through
no symbolic link below it; an HTTP mirror's redirects are followed only within
its own scheme, host and port. Each download must keep up at least 64 KiB/s
after 30 s, and the whole run stops after --timeout (30m by default), keeping
the running version: no mirror can hold the state directory's lock for longer.`,
		Example: `  ssms update --policy policy.json --mirror https://mirror.example/ssms --product smp-server --install /usr/local/bin/smp-server
  ssms update --policy policy.json --mirror ./mirror --product smp-server --install ./bin/smp-server --check
  ssms update ... --report http://auditor.example/api/reports --json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runUpdate(c, f) },
	}
	c.Flags().StringVar(&f.Policy, "policy", "", "the pinned policy (the root of trust)")
	f.AddSource(c.Flags())
	c.Flags().StringVar(&f.Product, "product", "", "the product installed at --install")
	c.Flags().StringVar(&f.Artifact, "artifact", "", "the release's artifact to install (default: the one named after the product, or the only one)")
	c.Flags().StringVar(&f.Install, "install", "", "the program to update (it need not exist yet)")
	c.Flags().StringVar(&f.State, "state", "", "the state directory (default: the --install path followed by .ssms)")
	c.Flags().DurationVar(&f.AwaitStart, "await-start", 0, "leave the install for the new version's first start to confirm, within this time (0: ssms confirms it)")
	f.AddTimeout(c.Flags())
	c.Flags().BoolVar(&f.Check, "check", false, "only say whether a newer release is in the log; install nothing")
	c.Flags().BoolVar(&f.JSON, "json", false, "print the result as JSON")
	for _, name := range []string{"policy", "product", "install"} {
		c.MarkFlagRequired(name)
	}
	c.MarkFlagFilename("policy", "json")
	c.MarkFlagFilename("install")
	c.MarkFlagDirname("state")
	return c
}

func runUpdate(c *cobra.Command, f *updatecli.Flags) error {
	if err := f.NeedMirror(); err != nil {
		return err
	}
	env, err := readEnvelope(f.Policy)
	if err != nil {
		return err
	}
	pinned, err := verifier.Pin(env)
	if err != nil {
		return fmt.Errorf("%s: %w", f.Policy, err)
	}
	u, err := f.Updater(pinned, c.ErrOrStderr())
	if err != nil {
		return err
	}
	return f.Run(c, "ssms", u)
}
