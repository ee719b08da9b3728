package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"ssms.dev/ssms/internal/capped"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/signer"
	"ssms.dev/ssms/translog"
)

func policyPublishCmd() *cobra.Command {
	var logURL, vkey, out, previous string
	c := &cobra.Command{
		Use:   "publish policy.json --log URL [--previous old.json] [--out F.proof]",
		Short: "Append a signed policy, the first or a rotation, to a transparency log",
		Long: `Check the policy, send the file's bytes, unchanged, to the log, and verify the
log's answer, as "ssms release publish" does for releases. Clients accept a
policy only as a link of a chain from version 1, each link logged, so every
version is published: version 1 once it carries its own policy threshold, and
each rotation once it carries the thresholds of both the policy in force
(--previous, required for any version after 1) and its own.

The log's key and the witness quorum the answer must carry are those of the
policy clients already trust: version 1's own, or --previous's for a rotation.
The log admits the policy only if it serves every key that signed it: to log a
rotation that adds keys, serve the new policy too (ssms log serve --policy).`,
		Example: `  ssms policy publish policy.json --log https://log.example.org --out policy.proof
  ssms policy publish policy-2.json --previous policy.json --log https://log.example.org --out policy-2.proof`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			raw, err := capped.ReadFile(args[0], translog.MaxEntrySize)
			if err != nil {
				return err
			}
			env, err := readEnvelope(args[0])
			if err != nil {
				return err
			}
			next, err := policies.Parse(env)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			trusted, keys := next, next.MaintainerKeys()
			switch {
			case next.Version == 1 && previous != "":
				return withHint(fmt.Errorf("%s is version 1: it has no predecessor", args[0]), "drop --previous")
			case next.Version == 1:
				if next, err = policies.VerifyRoot(env, time.Now()); err != nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
				trusted = next
			case previous == "":
				return withHint(fmt.Errorf("%s is version %d: a rotation is checked against the policy in force", args[0], next.Version),
					fmt.Sprintf("pass --previous with version %d", next.Version-1))
			default:
				if trusted, _, err = rotation(previous, args[0], env); err != nil {
					return err
				}
				keys = append(append([]*signer.PublicKey{}, trusted.MaintainerKeys()...), next.MaintainerKeys()...)
			}
			what := fmt.Sprintf("policy version %d (%s)", next.Version, next.Digest())
			return publish(c, publication{raw: raw, env: env, file: args[0], noun: "policy", what: what, keys: keys, pol: trusted, logURL: logURL, vkey: vkey, out: out})
		},
	}
	c.Flags().StringVar(&logURL, "log", "", "the log's URL (required)")
	c.Flags().StringVar(&vkey, "vkey", "", "the log's verifier key (default: from the trusted policy)")
	c.Flags().StringVar(&out, "out", "", "write the tlog-proof here instead of printing it")
	c.Flags().StringVar(&previous, "previous", "", "the policy in force, for a rotation (version N-1)")
	c.MarkFlagRequired("log")
	return c
}

// rotation checks that the policy in file (env) is a valid, current
// successor of the one in previous, and returns the one in previous and
// who approved the change.
func rotation(previous, file string, env *manifest.Envelope) (*policies.Policy, *policies.Rotation, error) {
	oldEnv, err := readEnvelope(previous)
	if err != nil {
		return nil, nil, err
	}
	old, err := predecessor(previous, oldEnv)
	if err != nil {
		return nil, nil, err
	}
	next, rot, err := policies.VerifyNext(old, env)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", file, err)
	}
	if err := next.CheckExpiry(time.Now()); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", file, err)
	}
	return old, rot, nil
}
