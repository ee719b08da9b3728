package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"ssms.dev/ssms/internal/atomicfile"
	"ssms.dev/ssms/internal/capped"
	"ssms.dev/ssms/translog"
)

func verifyEvidenceCmd() *cobra.Command {
	var vkey, policyPath, logURL, out string
	c := &cobra.Command{
		Use:   "verify-evidence FILE (--policy policy.json | --vkey VKEY) [--log URL] [--out FILE]",
		Short: "Check evidence that a log signed two checkpoints that cannot both be true",
		Long: `Check an evidence file written by a witness or a monitor against a log key you
trust: the policy's log whose origin the evidence names (--policy), or a key
you give (--vkey). The key written in the file is never trusted: anyone can
sign two contradictory checkpoints with a key of their own named like a real
log. Both checkpoints must carry the trusted key's signature, and either they
give two roots for one size, or a consistency proof leads from the newer
tree's prefix to its signed root while that prefix is not the older signed
root. Exits 0 only if the evidence proves misbehaviour.

Evidence that does not prove a fork on its own (a witness's .incomplete file:
when the older size is a power of two, the log's proof omits the root that
matters) is completed from the log's tiles, which the newer checkpoint's
signature authenticates: at --log URL, or the policy's URL for the log.
--out writes the completed, self-contained evidence.`,
		Example: `  ssms verify-evidence ssms-witness/evidence/*.evidence --policy policy.json
  ssms verify-evidence w.incomplete --policy policy.json --log http://127.0.0.1:8080 --out fork.evidence`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if (vkey == "") == (policyPath == "") {
				return withHint(errors.New("give the log key to check the evidence against, from --policy or --vkey (not both)"),
					"the key inside the evidence file proves nothing: ssms verify-evidence FILE --policy policy.json")
			}
			b, err := capped.ReadFile(args[0], 64<<10)
			if err != nil {
				return err
			}
			e, err := translog.ParseEvidence(b)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			whose := "given with --vkey"
			if policyPath != "" {
				pol, err := loadPolicy(policyPath)
				if err != nil {
					return err
				}
				origin, _, _ := strings.Cut(e.Old, "\n")
				for _, l := range pol.Logs {
					if l.Origin == origin {
						vkey = l.VKey
						if logURL == "" {
							logURL = l.URL
						}
					}
				}
				if vkey == "" {
					return fmt.Errorf("%s: log %q is not in %s", args[0], origin, policyPath)
				}
				whose = fmt.Sprintf("log %s of %s, policy version %d", origin, policyPath, pol.Version)
			}
			what, err := e.Check(vkey)
			if errors.Is(err, translog.ErrInconclusive) && logURL != "" {
				if e, err = completeEvidence(c.Context(), e, vkey, logURL); err == nil {
					if what, err = e.Check(vkey); err == nil {
						what += " (completed from the log's tiles at " + logURL + ")"
					}
				}
			}
			if errors.Is(err, translog.ErrInconclusive) && logURL == "" {
				return withHint(fmt.Errorf("%s: %w", args[0], err), "the log's tiles can complete it: add --log URL")
			}
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if out != "" {
				if err := atomicfile.Create(out, e.Marshal(), 0o644); err != nil {
					return err
				}
			}
			fmt.Fprintf(c.OutOrStdout(), "proven: %s\nlog key: %s (%s)\nfound by: %s (not verified)\n", what, vkey, whose, e.Note)
			return nil
		},
	}
	c.Flags().StringVar(&policyPath, "policy", "", "the trusted policy; the log is found by the evidence's origin")
	c.Flags().StringVar(&vkey, "vkey", "", "the trusted log verifier key")
	c.Flags().StringVar(&logURL, "log", "", "the log's URL, to complete evidence from its tiles (default: the policy's)")
	c.Flags().StringVar(&out, "out", "", "write the checked evidence, completed if it was, to this new file")
	return c
}

// completeEvidence reads, from the log's tiles authenticated by the newer
// checkpoint's signature, the root of the newer tree at the older size and
// a proof from it: a fork then proves itself whatever the sizes.
func completeEvidence(ctx context.Context, e *translog.Evidence, vkey, url string) (*translog.Evidence, error) {
	client, err := translog.NewClient(url, vkey)
	if err != nil {
		return nil, err
	}
	old, err := translog.OpenCheckpoint([]byte(e.Old), client.Origin, client.Key)
	if err != nil {
		return nil, fmt.Errorf("old checkpoint: %w", err)
	}
	new, err := translog.OpenCheckpoint([]byte(e.New), client.Origin, client.Key)
	if err != nil {
		return nil, fmt.Errorf("new checkpoint: %w", err)
	}
	if old.Size > new.Size {
		old, new = new, old
	}
	prefix, hashes, err := client.TileConsistency(ctx, old.Size, new.Checkpoint)
	if err != nil {
		return nil, fmt.Errorf("completing the evidence: %w", err)
	}
	if prefix == old.Hash {
		return nil, fmt.Errorf("%w: the log's tiles show its tree of size %d extends the one of size %d; only its proof was wrong",
			translog.ErrInconclusive, new.Size, old.Size)
	}
	return translog.ForkEvidence(vkey, old, new, prefix, hashes, e.Note), nil
}
