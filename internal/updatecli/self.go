package updatecli

import (
	"fmt"

	"github.com/spf13/cobra"

	"ssms.dev/ssms/internal/startcheck"
	"ssms.dev/ssms/updater"
)

// SelfCommand is the update command of a program that updates itself
// (smp-server, smp-client): --product is the program's own, --install its
// own executable, and the pinned policy and state directory those of its
// start-up check (chk: --policy, $SSMS_POLICY or the embedded policy;
// the state flag, $SSMS_STATE or PATH.ssms). The caller adds chk's
// --policy and state flags to the command unless the program's root has
// them already.
//
// The command does not run the start-up self-check: it verifies what it
// installs itself, and a development build must be able to install a
// verified release in its own place.
func SelfCommand(chk *startcheck.Options) *cobra.Command {
	f := &Flags{}
	prog := chk.Prog
	c := &cobra.Command{
		Use:   "update --mirror URL... [--check] [--json]",
		Short: "Install the newest verified release of " + prog + " in its own place",
		Long: fmt.Sprintf(`Update this program (or the one at --install) to the newest release of %[1]s
that the log holds and the pinned policy accepts, from untrusted mirrors, as
"ssms update" does: the log, not the mirrors, says what is newest; a release
is verified (signatures, policy chain, log inclusion, rebuilds, rollback)
before its artifact is downloaded, and the artifact must hash to the signed
digest. The install is a journal in the state directory: whatever interrupts
it, the program is the old or the new verified version. Every refusal keeps
the running version and writes a failure report to STATE/reports (and posts
it to --report, if given).

The policy pinned is the one the program checks itself against at start:
--policy, $SSMS_POLICY, or the project's policy it embeds. The install is
confirmed at once, after the file in place is hashed again; with
--await-start the next start of the program confirms it (or rolls it back if
its self-check fails). Restart a running %[1]s to run the new version, or
let "smp-server start --auto-update" do it.

A mirror is a directory (or file:///PATH) or an http(s) URL filled by "ssms
mirror add". The whole run stops after --timeout (30m by default), keeping the
running version.`, prog),
		Example: fmt.Sprintf(`  %[1]s update --mirror https://mirror.example/ssms
  %[1]s update --mirror https://mirror.example/ssms --check --json
  %[1]s update --policy /etc/ssms/policy.json --mirror ./mirror --log https://log.example`, prog),
		Args: cobra.NoArgs,
		// The program's own pre-run would check the running binary first.
		PersistentPreRunE: func(*cobra.Command, []string) error { return nil },
		RunE: func(c *cobra.Command, _ []string) error {
			if err := f.NeedMirror(); err != nil {
				return err
			}
			pinned, err := chk.Pinned()
			if err != nil {
				return err
			}
			if f.Install == "" {
				if f.Install, err = updater.Executable(); err != nil {
					return err
				}
			}
			f.State = chk.StateDir()
			u, err := f.Updater(pinned, c.ErrOrStderr())
			if err != nil {
				return err
			}
			return f.Run(c, prog, u)
		},
	}
	fs := c.Flags()
	f.AddSource(fs)
	fs.StringVar(&f.Product, "product", chk.Product, "the product to install, as the policy names it")
	fs.StringVar(&f.Artifact, "artifact", "", "the release's artifact to install (default: the one named after the product, or the only one)")
	fs.StringVar(&f.Install, "install", "", "the program to update (default: this executable)")
	fs.DurationVar(&f.AwaitStart, "await-start", 0, "leave the install for the new version's first start to confirm, within this time (0: confirm it now)")
	f.AddTimeout(fs)
	fs.BoolVar(&f.Check, "check", false, "only say whether a newer release is in the log; install nothing")
	fs.BoolVar(&f.JSON, "json", false, "print the result as JSON")
	c.MarkFlagFilename("install")
	return c
}
