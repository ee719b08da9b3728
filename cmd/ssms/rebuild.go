package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"ssms.dev/ssms/internal/atomicfile"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/rebuild"
	"ssms.dev/ssms/translog"
)

func buildCmd() *cobra.Command {
	var recipePath, source, commit, out string
	var artifacts []string
	c := &cobra.Command{
		Use:   "build --recipe FILE --artifact NAME... --out DIR [--source DIR|URL] [--commit C]",
		Short: "Build release artifacts from a clean clone, exactly as rebuilders will",
		Long: `Clone the source at a commit (default: HEAD of the repository in the current
directory) into a fresh directory, run the recipe there in a scrubbed
environment, and copy each named artifact to --out. Maintainers build releases
this way so that rebuilders, running the same recipe, get the same bytes.`,
		Example: `  ssms build --recipe recipes/smp-server.json --artifact smp-server --out dist`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			r, err := readRecipe(recipePath)
			if err != nil {
				return err
			}
			if commit == "" {
				if commit, err = headCommit(source); err != nil {
					return err
				}
			}
			work, err := os.MkdirTemp("", "ssms-build-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(work)
			src, err := rebuild.Fetch(c.Context(), source, commit, work)
			if err != nil {
				return err
			}
			if err := rebuild.Build(c.Context(), r, src, work, c.ErrOrStderr()); err != nil {
				return err
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			for _, name := range artifacts {
				b, err := os.ReadFile(filepath.Join(src, name))
				if err != nil {
					return fmt.Errorf("the recipe did not produce %s: %w", name, err)
				}
				if err := atomicfile.Write(filepath.Join(out, name), b, 0o755); err != nil {
					return err
				}
				sum := sha256.Sum256(b)
				fmt.Fprintf(c.OutOrStdout(), "%s  sha256:%s\n", filepath.Join(out, name), hex.EncodeToString(sum[:]))
			}
			fmt.Fprintf(c.OutOrStdout(), "built from commit %s\n", commit)
			return nil
		},
	}
	c.Flags().StringVar(&recipePath, "recipe", "", "recipe JSON: toolchain, command, environment (required)")
	c.Flags().StringArrayVar(&artifacts, "artifact", nil, "artifact the recipe makes, by file name (repeat; required)")
	c.Flags().StringVar(&out, "out", "dist", "directory for the artifacts")
	c.Flags().StringVar(&source, "source", ".", "git repository (directory or URL)")
	c.Flags().StringVar(&commit, "commit", "", "commit to build (default: HEAD of --source)")
	c.MarkFlagRequired("recipe")
	c.MarkFlagRequired("artifact")
	return c
}

func readRecipe(path string) (*manifest.Recipe, error) {
	b, err := readFile(path, 16<<10)
	if err != nil {
		return nil, err
	}
	r, err := manifest.ParseRecipe(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

func headCommit(source string) (string, error) {
	out, err := runGit(source, "rev-parse", "HEAD")
	if err != nil {
		return "", withHint(err, "pass --commit, or run in a git repository")
	}
	return strings.TrimSpace(out), nil
}

func rebuildCmd() *cobra.Command {
	var source, key, policyPath, logURL, vkey, out string
	var artifacts []string
	var keep bool
	c := &cobra.Command{
		Use:   "rebuild release.json --key R.key [--source DIR|URL] [--log URL]",
		Short: "Rebuild a release from its source and recipe; attest if it matches bit for bit",
		Long: `Check that the release carries the policy's threshold, fetch its source at the
recorded commit, run its recipe in a fresh directory with a scrubbed
environment, and compare every artifact with the release. On a match, sign a
rebuild attestation with the rebuilder key (written to --out, and with --log
submitted to the log). On a mismatch, report each artifact's digests and
sizes (with --artifact NAME=PATH, the first differing byte, and a diffoscope
report where diffoscope is installed) and exit 1.

The source is cloned from --source, or from the URI the release records; a
local repository must be clean. Only the recorded commit is built.`,
		Example: `  ssms rebuild smp-server-1.2.0.json --key rebuilder.key
  ssms rebuild release.json --source ~/src/ssms --key rebuilder.key --log https://log.example --artifact smp-server=dist/smp-server`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			pol, err := loadPolicyOrDefault(policyPath)
			if err != nil {
				return err
			}
			env, err := readEnvelope(args[0])
			if err != nil {
				return err
			}
			st, _, err := pol.CheckRelease(env)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			p := st.Predicate
			if p.Build == nil {
				return fmt.Errorf("%s: the release has no recipe (predicate.build); it cannot be rebuilt", args[0])
			}
			s, err := loadSigner(c.Context(), key)
			if err != nil {
				return err
			}
			work, err := os.MkdirTemp("", "ssms-rebuild-")
			if err != nil {
				return err
			}
			kept := keep
			if keep {
				fmt.Fprintf(c.ErrOrStderr(), "work directory (kept): %s\n", work)
			}
			defer func() {
				if !kept {
					os.RemoveAll(work)
				}
			}()
			started := time.Now()
			if source == "" {
				source = p.Source.URI
			}
			fmt.Fprintf(c.ErrOrStderr(), "rebuilding %s %s from %s at %s\n", p.Product, p.Version, source, p.Source.Commit)
			src, err := rebuild.Fetch(c.Context(), source, p.Source.Commit, work)
			if err != nil {
				return err
			}
			if err := rebuild.Build(c.Context(), p.Build, src, work, c.ErrOrStderr()); err != nil {
				return err
			}
			published := map[string]string{}
			for _, a := range artifacts {
				name, path, err := splitArtifact(a)
				if err != nil {
					return err
				}
				published[name] = path
			}
			arts, ok := rebuild.Compare(st.Subject, src, published, work)
			fmt.Fprint(c.OutOrStdout(), rebuild.Report(arts))
			if !ok {
				kept = true // the rebuilt files and any diffoscope report are the evidence
				return withHint(errors.New("the release does not rebuild bit for bit; nothing was attested"),
					"the rebuilt tree is kept in "+src+" for inspection")
			}
			builder := pol.KeyName(s.Public().ID())
			if builder == "" {
				builder = "key-" + s.Public().ID()[:16]
				fmt.Fprintf(c.ErrOrStderr(), "ssms: hint: this key is not a rebuilder of policy version %d; its attestation will not count toward the rebuild threshold\n", pol.Version)
			}
			_, payload, err := manifest.NewRebuild(st.Subject, manifest.RebuildPredicate{
				Release: policies.ReleaseRef(env.Payload), Product: p.Product, Version: p.Version, Builder: builder,
				Source: p.Source, Build: *p.Build, Started: manifest.FormatTime(started), Finished: manifest.FormatTime(time.Now()),
				Outcome: manifest.OutcomeReproduced,
			})
			if err != nil {
				return err
			}
			att := &manifest.Envelope{PayloadType: manifest.PayloadType, Payload: payload}
			if err := att.Sign(c.Context(), s); err != nil {
				return err
			}
			if out == "" {
				out = strings.TrimSuffix(args[0], ".json") + ".rebuild-" + builder + ".json"
			}
			if err := writeEnvelope(out, att, false); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "attested by %s: %s\n", builder, out)
			if logURL == "" {
				return nil
			}
			if vkey == "" {
				vkey = logKeyFor(pol, logURL)
			}
			return publishAttestation(c, out, logURL, vkey)
		},
	}
	c.Flags().StringVar(&source, "source", "", "the source: a git repository directory or URL (default: the release's source.uri)")
	c.Flags().StringVar(&key, "key", "", "the rebuilder's key file or KMS URI (required)")
	c.Flags().StringVar(&policyPath, "policy", "", "the policy (default: the project's embedded policy)")
	c.Flags().StringVar(&logURL, "log", "", "submit the attestation to this log")
	c.Flags().StringVar(&vkey, "vkey", "", "the log's verifier key (default: from the policy)")
	c.Flags().StringVar(&out, "out", "", "attestation file (default: RELEASE.rebuild-BUILDER.json)")
	c.Flags().StringArrayVar(&artifacts, "artifact", nil, "published artifact NAME=PATH, to explain a mismatch (repeat)")
	c.Flags().BoolVar(&keep, "keep", false, "keep the work directory")
	c.MarkFlagRequired("key")
	return c
}

func publishAttestation(c *cobra.Command, path, logURL, vkey string) error {
	raw, err := readFile(path, translog.MaxEntrySize)
	if err != nil {
		return err
	}
	if vkey == "" {
		return withHint(errors.New("no log key"), "pass the log's verifier key with --vkey")
	}
	client, err := translog.NewClient(logURL, vkey)
	if err != nil {
		return err
	}
	proof, cp, err := client.Add(c.Context(), raw)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.OutOrStdout(), "logged as entry %d of %s (checkpoint size %d)\n", proof.Index, cp.Origin, cp.Size)
	return nil
}
