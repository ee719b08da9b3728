package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"ssms.dev/ssms/internal/atomicfile"
	"ssms.dev/ssms/internal/capped"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/rebuild"
)

func policyRootFlagsCmd() *cobra.Command {
	var recipePath, out string
	c := &cobra.Command{
		Use:   "root-flags POLICY.json [--recipe R.json --out NEW.json]",
		Short: "Print the linker flag that compiles POLICY.json into ssms, smp-server and smp-client as their root of trust",
		Long: `A deployment that signs its own releases of smp-server and smp-client must
not ship binaries that trust the SSMS project's keys (which it cannot use),
nor patch the source: it compiles its own root policy in at build time.

This checks that POLICY.json verifies as a root (signed by its own policy
threshold, not expired), then prints the go linker flag that compiles it in:

  -X ssms.dev/ssms/policies.rootOverride=<the file in base64>

The binary then trusts that policy, and only it, wherever it would have used
the project's. With --recipe, it writes to --out a copy of that recipe whose
go build carries the flag (added to its -ldflags), so that the release records
it and rebuilders reproduce the same binary. See docs/release-process.md.`,
		Example: `  go build -ldflags "-s -w $(ssms policy root-flags policy.json)" -o smp-client ./cmd/smp-client
  ssms policy root-flags policy.json --recipe recipes/smp-client.json --out smp-client.recipe.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			env, err := readEnvelope(args[0])
			if err != nil {
				return err
			}
			if _, err := policies.VerifyRoot(env, time.Now()); err != nil {
				return withHint(fmt.Errorf("%s: %w", args[0], err), "a root must carry its own policy threshold of signatures (ssms policy sign)")
			}
			raw, err := capped.ReadFile(args[0], 1<<20)
			if err != nil {
				return err
			}
			def := policies.RootOverrideVar + "=" + policies.EncodeRootOverride(raw)
			if recipePath == "" {
				if out != "" {
					return errors.New("--out goes with --recipe")
				}
				fmt.Fprintf(c.OutOrStdout(), "-X %s\n", def)
				return nil
			}
			if out == "" {
				return errors.New("--recipe needs --out NEW.json")
			}
			r, err := readRecipe(recipePath)
			if err != nil {
				return err
			}
			r.Command = withLdflag(r.Command, "-X "+def)
			if err := rebuild.CheckRecipe(r); err != nil {
				return fmt.Errorf("%s with the root flag: %w", recipePath, err)
			}
			b, err := json.MarshalIndent(r, "", "  ")
			if err != nil {
				return err
			}
			if err := atomicfile.Create(out, append(b, '\n'), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "%s: %s with %s compiled in as the root\n", out, recipePath, args[0])
			return nil
		},
	}
	c.Flags().StringVar(&recipePath, "recipe", "", "a recipe to copy with the flag added")
	c.Flags().StringVar(&out, "out", "", "with --recipe: the new recipe file (never overwritten)")
	return c
}

// withLdflag returns the go build argv with flag added to its -ldflags
// (a new -ldflags= argument after "go build" if it has none).
func withLdflag(argv []string, flag string) []string {
	out := append([]string(nil), argv...)
	for i, a := range out {
		switch {
		case strings.HasPrefix(a, "-ldflags="):
			out[i] = strings.TrimSpace(a+" ") + " " + flag
			return out
		case a == "-ldflags" && i+1 < len(out):
			out[i+1] = strings.TrimSpace(out[i+1] + " " + flag)
			return out
		}
	}
	if len(out) < 2 {
		return append(out, "-ldflags="+flag)
	}
	return append(append(out[:2:2], "-ldflags="+flag), out[2:]...)
}
