package main

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
)

func policyCmd() *cobra.Command {
	c := &cobra.Command{Use: "policy", Short: "Write, sign and rotate the trust policy"}
	c.AddCommand(policyInitCmd(), policySignCmd(), policyShowCmd(), policyCheckRotationCmd("check-rotation"), policyCheckRotationCmd("rotate"), policyPublishCmd(), policyRootFlagsCmd())
	return c
}

type policyFlags struct {
	out                                 string
	version                             uint64
	products, maintainers, rebuilders   []string
	logs, witnesses                     []string
	threshold, rollbackT, policyT       int
	rebuildT, quorum                    int
	minLogAge, maxCheckpointAge, expire time.Duration
	force                               bool
}

func policyInitCmd() *cobra.Command {
	var f policyFlags
	c := &cobra.Command{
		Use:   "init --out policy.json --product P... --maintainer A.pub... --threshold K",
		Short: "Write a new, unsigned policy",
		Long: `Write a trust policy as an unsigned DSSE envelope. Each maintainer then adds a
signature with "ssms policy sign"; a policy counts only once the policy
threshold of its own maintainers (and, for version N+1, of version N's) signed.

A key's name in the policy is its file name without .pub (alice.pub → alice).
Durations are Go durations: 24h, 90m, 8760h.`,
		Example: `  ssms policy init --out policy.json --product smp-server --product smp-client \
      --maintainer alice.pub --maintainer bob.pub --maintainer carol.pub --threshold 2`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return policyInit(c, &f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.out, "out", "", "file to write (required; never overwritten without --force)")
	fl.Uint64Var(&f.version, "version", 1, "policy version: 1 for a new root, N+1 to rotate from N")
	fl.StringArrayVar(&f.products, "product", nil, "product this policy covers (repeat)")
	fl.StringArrayVar(&f.maintainers, "maintainer", nil, "maintainer public key file (repeat)")
	fl.IntVar(&f.threshold, "threshold", 0, "distinct maintainer signatures a release needs (required)")
	fl.IntVar(&f.rollbackT, "rollback-threshold", 0, "signatures a rollback needs, at least --threshold (default --threshold)")
	fl.IntVar(&f.policyT, "policy-threshold", 0, "signatures a policy change needs, at least --threshold (default --threshold)")
	fl.StringArrayVar(&f.rebuilders, "rebuilder", nil, "rebuilder public key file (repeat)")
	fl.IntVar(&f.rebuildT, "rebuild-threshold", 0, "distinct rebuilder attestations a release needs")
	fl.StringArrayVar(&f.logs, "log", nil, "transparency log verifier key, as VKEY or VKEY=URL (repeat)")
	fl.StringArrayVar(&f.witnesses, "witness", nil, "witness verifier key (repeat)")
	fl.IntVar(&f.quorum, "witness-quorum", 0, "witness cosignatures a checkpoint needs")
	fl.DurationVar(&f.minLogAge, "min-log-age", 0, "how long a release must be visible in the log before it installs")
	fl.DurationVar(&f.maxCheckpointAge, "max-checkpoint-age", 168*time.Hour, "how old a checkpoint may be")
	fl.DurationVar(&f.expire, "expires", 8760*time.Hour, "how long from now the policy is valid")
	fl.BoolVar(&f.force, "force", false, "overwrite --out if it exists")
	c.MarkFlagRequired("out")
	c.MarkFlagRequired("threshold")
	return c
}

func policyInit(c *cobra.Command, f *policyFlags) error {
	if len(f.maintainers) == 0 {
		return withHint(errors.New("no --maintainer given"), "name each maintainer's public key: --maintainer alice.pub")
	}
	if len(f.products) == 0 {
		return errors.New("no --product given; a policy names the products it covers")
	}
	if f.expire <= 0 {
		return withHint(fmt.Errorf("--expires %s: a policy must expire after it is made", f.expire), "give a positive duration, such as --expires 8760h (a year)")
	}
	or := func(v, def int) int {
		if v == 0 {
			return def
		}
		return v
	}
	p := &policies.Policy{
		Version:          f.version,
		Expires:          manifest.FormatTime(time.Now().Add(f.expire)),
		Products:         sortedUnique(f.products),
		Maintainers:      policies.Maintainers{Thresholds: policies.Thresholds{Release: f.threshold, Rollback: or(f.rollbackT, f.threshold), Policy: or(f.policyT, f.threshold)}},
		Rebuilders:       policies.Rebuilders{Keys: []policies.Key{}, Threshold: f.rebuildT},
		Logs:             []policies.Log{},
		Witnesses:        policies.Witnesses{VKeys: append([]string{}, f.witnesses...), Quorum: f.quorum},
		MaxCheckpointAge: f.maxCheckpointAge.String(),
		MinLogAge:        f.minLogAge.String(),
	}
	var err error
	if p.Maintainers.Keys, err = readKeys(f.maintainers); err != nil {
		return err
	}
	if p.Rebuilders.Keys, err = readKeys(f.rebuilders); err != nil {
		return err
	}
	for _, l := range f.logs {
		vkey, url, _ := strings.Cut(l, "=")
		origin, _, _ := strings.Cut(vkey, "+")
		p.Logs = append(p.Logs, policies.Log{Origin: origin, VKey: vkey, URL: url})
	}
	payload, err := p.Marshal()
	if err != nil {
		return err
	}
	env := &manifest.Envelope{PayloadType: policies.PayloadType, Payload: payload, Signatures: []manifest.Signature{}}
	if err := writeEnvelope(f.out, env, !f.force); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return withHint(err, "its signatures would be lost: write the new policy elsewhere (a rotation is --version N+1 --out policy-N+1.json), or pass --force to replace it")
		}
		return err
	}
	fmt.Fprintf(c.OutOrStdout(), "wrote %s: policy version %d for %s, %d maintainers (release %d, rollback %d, policy %d), expires %s\n",
		f.out, p.Version, strings.Join(p.Products, ", "), len(p.Maintainers.Keys),
		p.Maintainers.Thresholds.Release, p.Maintainers.Thresholds.Rollback, p.Maintainers.Thresholds.Policy, p.Expires)
	fmt.Fprintf(c.ErrOrStderr(), "ssms: hint: it needs %d maintainer signatures: ssms policy sign %s --key NAME.key\n", p.Maintainers.Thresholds.Policy, f.out)
	return nil
}

func readKeys(paths []string) ([]policies.Key, error) {
	keys := []policies.Key{}
	for _, path := range paths {
		pub, err := readPublicKey(path)
		if err != nil {
			return nil, err
		}
		keys = append(keys, policies.NewKey(keyName(path), pub))
	}
	return keys, nil
}

func sortedUnique(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

func policySignCmd() *cobra.Command {
	var key string
	c := &cobra.Command{
		Use:   "sign policy.json --key A.key",
		Short: "Add one maintainer signature to a policy (in place)",
		Long: `Print the policy (as "ssms policy show" does), then add one signature to it, in
place. A key signs once. For a rotation, the maintainers of both the old and
the new version sign the new one.`,
		Example: `  ssms policy sign policy.json --key alice.key
  ssms policy sign policy-2.json --key carol.key   # a rotation: old and new maintainers sign`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			env, err := readEnvelope(args[0])
			if err != nil {
				return err
			}
			p, err := policies.Parse(env)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			// Show what is about to be signed before the passphrase is asked.
			sum, err := summarizePolicy(args[0], env, time.Now())
			if err != nil {
				return err
			}
			sum.print(c.OutOrStdout())
			s, err := loadSigner(c.Context(), key)
			if err != nil {
				return err
			}
			if err := env.Sign(c.Context(), s); err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if err := writeEnvelope(args[0], env, false); err != nil {
				return err
			}
			name := p.KeyName(s.Public().ID())
			if name == "" {
				name = "key " + s.Public().ID()[:16] + " (not a maintainer of this version; counts only as a maintainer of the previous one)"
			}
			have := len(env.Verify(p.MaintainerKeys()).Signers)
			fmt.Fprintf(c.OutOrStdout(), "signed %s as %s; %d of %d required signatures from its maintainers\n",
				args[0], name, have, p.Threshold(policies.ActionPolicy))
			return nil
		},
	}
	c.Flags().StringVar(&key, "key", "", "private key file or KMS URI (required)")
	c.MarkFlagRequired("key")
	return c
}

// predecessor checks the policy in force before a rotation: valid under
// its own threshold, though it may have expired (an expired policy may
// still hand over to its successor).
func predecessor(path string, env *manifest.Envelope) (*policies.Policy, error) {
	old, err := policies.VerifyRoot(env, time.Now())
	if errors.Is(err, policies.ErrExpired) {
		old, err = policies.Parse(env)
		if err == nil {
			_, err = old.Approve(env, policies.ActionPolicy, "policy version "+fmt.Sprint(old.Version))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return old, nil
}

// policyCheckRotationCmd is "policy check-rotation", and under the name
// "rotate" its deprecated former name: it only ever checked a rotation,
// which "policy publish" publishes.
func policyCheckRotationCmd(name string) *cobra.Command {
	var from, to string
	var asJSON bool
	c := &cobra.Command{
		Use:   name + " --from old.json --to new.json",
		Short: "Check that new.json is a valid successor of old.json (changes nothing)",
		Long: `Check the rotation rule: new.json is version N+1 of old.json (which must itself be
valid), signed by the policy threshold of old.json's maintainers and by the
policy threshold of its own. Clients accept the new policy only under this rule.
Nothing is written or published: "ssms policy publish new.json --previous
old.json" logs the rotation.`,
		Example: `  ssms policy check-rotation --from policy.json --to policy-2.json
  ssms policy check-rotation --json --from policy.json --to policy-2.json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if name != "check-rotation" {
				fmt.Fprintf(c.ErrOrStderr(), "ssms: warning: \"policy %s\" is now \"policy check-rotation\"; the old name will be removed\n", name)
			}
			newEnv, err := readEnvelope(to)
			if err != nil {
				return err
			}
			_, rot, err := rotation(from, to, newEnv)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(c, rot)
			}
			fmt.Fprintf(c.OutOrStdout(), "%s (version %d) is a valid successor of %s (version %d)\n  signed by %d of %d required maintainers of version %d: %s\n  signed by %d of %d required maintainers of version %d: %s\n",
				to, rot.To, from, rot.From,
				len(rot.ByOld.Signers), rot.ByOld.Need, rot.From, strings.Join(rot.ByOld.Signers, ", "),
				len(rot.ByNew.Signers), rot.ByNew.Need, rot.To, strings.Join(rot.ByNew.Signers, ", "))
			return nil
		},
	}
	c.Flags().StringVar(&from, "from", "", "the policy in force (required)")
	c.Flags().StringVar(&to, "to", "", "the proposed next version (required)")
	c.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	c.MarkFlagRequired("from")
	c.MarkFlagRequired("to")
	c.Hidden = name != "check-rotation"
	return c
}
