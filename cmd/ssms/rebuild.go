package main

import (
	"context"
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
	"ssms.dev/ssms/internal/capped"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/rebuild"
	"ssms.dev/ssms/signer"
	"ssms.dev/ssms/translog"
)

func buildCmd() *cobra.Command {
	var recipePath, source, commit, out string
	var artifacts []string
	var rf runnerFlags
	c := &cobra.Command{
		Use:   "build --recipe FILE --artifact NAME... --out DIR [--source DIR|URL] [--commit C]",
		Short: "Build release artifacts from a clean clone, exactly as rebuilders will",
		Long: `Clone the source at a commit (default: HEAD of the repository in the current
directory) into a fresh directory, run the recipe there exactly as rebuilders
will, and copy each named artifact to --out. Maintainers build releases this
way so that rebuilders, running the same recipe, get the same bytes.

` + sandboxDoc,
		Example: `  ssms build --recipe recipes/smp-server.json --artifact smp-server --out dist`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			r, err := readRecipe(recipePath)
			if err != nil {
				return err
			}
			run, err := rf.runner(c)
			if err != nil {
				return err
			}
			if err := run.Check(r); err != nil { // before anything is fetched
				return fmt.Errorf("%s: %w", recipePath, err)
			}
			if commit == "" {
				if commit, err = rebuild.Head(c.Context(), source); err != nil {
					return withHint(err, "pass --commit, or run in a git repository")
				}
			}
			work, err := os.MkdirTemp("", "ssms-build-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(work)
			stages := stagesFor(c, false)
			run.Stages = stages
			stages.Stage("cloning %s at %s", source, commit)
			src, err := rebuild.Fetch(c.Context(), source, commit, work)
			if err != nil {
				return err
			}
			if err := rebuild.CheckFresh(src, artifacts); err != nil {
				return err
			}
			if err := run.Build(c.Context(), r, src, work); err != nil {
				return err
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			stages.Stage("hashing and copying %d artifacts to %s", len(artifacts), out)
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
			stages.Stage("done")
			return nil
		},
	}
	c.Flags().StringVar(&recipePath, "recipe", "", "recipe JSON: toolchain, command, environment (required)")
	c.Flags().StringArrayVar(&artifacts, "artifact", nil, "artifact the recipe makes, by file name (repeat; required)")
	c.Flags().StringVar(&out, "out", "dist", "directory for the artifacts")
	c.Flags().StringVar(&source, "source", ".", "git repository (directory or URL)")
	c.Flags().StringVar(&commit, "commit", "", "commit to build (default: HEAD of --source)")
	rf.register(c.Flags())
	c.MarkFlagRequired("recipe")
	c.MarkFlagRequired("artifact")
	return c
}

func readRecipe(path string) (*manifest.Recipe, error) {
	b, err := capped.ReadFile(path, 16<<10)
	if err != nil {
		return nil, err
	}
	r, err := manifest.ParseRecipe(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

func rebuildCmd() *cobra.Command {
	var f struct {
		source, key, policy, log, vkey, out, follow, state string
		artifacts                                          []string
		keep, once, json, localSources                     bool
		interval                                           time.Duration
		runner                                             runnerFlags
	}
	c := &cobra.Command{
		Use:   "rebuild (release.json | --follow URL --state DIR) --key R.key [--log URL]",
		Short: "Rebuild a release from its source and recipe; attest if it matches bit for bit",
		Long: `Check that the release carries the policy's threshold, fetch its source at the
recorded commit, run its recipe in a fresh directory with a scrubbed
environment, and compare every artifact with the release. On a match, sign a
rebuild attestation with the rebuilder key (written to --out, and with --log
submitted to the log). On a mismatch, report each artifact's digests and
sizes (with --artifact NAME=PATH, the first differing byte, and a diffoscope
report where diffoscope is installed), keep the rebuilt artifacts (as plain
files, with the report; the rebuilt tree is deleted), and exit 1.

The source is cloned from --source, or from the URI the release records; a
local repository must be clean. Only the recorded commit is built.

With --follow URL instead of a release file, follow that log: verify each new
checkpoint's consistency with the last, and rebuild every new release of the
policy's products that meets its threshold, logging each attestation there.
Only releases whose source is remote (https://, ssh://, host:path) are
rebuilt; one naming a local repository (a path, file://) is skipped unless
--allow-local-sources.
Progress is kept in --state DIR (attestations in DIR/attestations), which
one follower owns at a time (another is refused: DIR is in use by process N). A
mismatch is reported and passed over. A release that cannot be rebuilt (its
source cannot be fetched, its recipe fails or runs over 2 hours) is reported,
recorded in DIR/follow.json under "failed" with its error, attempts and time,
and passed over too: it is tried again at most 3 times in all, at least an
hour apart, then given up (rebuild it by hand with "ssms rebuild
RELEASE.json --log URL"). A failure of the log stops the pass, to be
retried. --once makes one pass (exit 1 if any release did not rebuild);
otherwise a pass every --interval. With --json, each pass is printed as a
JSON object, the per-release report going to standard error.

` + sandboxDoc,
		Example: `  ssms rebuild smp-server-1.2.0.json --key rebuilder.key
  ssms rebuild release.json --source ~/src/ssms --key rebuilder.key --log https://log.example --artifact smp-server=dist/smp-server
  ssms rebuild --follow https://log.example --state /var/lib/ssms-rebuilder --key rebuilder.key --policy policy.json`,
		Args: func(c *cobra.Command, args []string) error {
			if (f.follow == "") == (len(args) == 1) && len(args) <= 1 {
				return nil
			}
			return withHint(errors.New("give one release file, or --follow URL"), "see \"ssms rebuild --help\"")
		},
		RunE: func(c *cobra.Command, args []string) error {
			pol, err := loadPolicyOrDefault(f.policy)
			if err != nil {
				return err
			}
			s, err := loadSigner(c.Context(), f.key)
			if err != nil {
				return err
			}
			run, err := f.runner.runner(c)
			if err != nil {
				return err
			}
			r := &rebuild.Rebuilder{Signer: s, Builder: pol.KeyName(s.Public().ID()), Output: c.ErrOrStderr(), Keep: f.keep, Runner: run}
			if r.Builder == "" {
				r.Builder = "key-" + s.Public().ID()[:16]
				fmt.Fprintf(c.ErrOrStderr(), "ssms: hint: this key is not a rebuilder of policy version %d; its attestations will not count toward the rebuild threshold\n", pol.Version)
			}
			if f.follow != "" {
				return followLog(c, pol, r, f.follow, f.vkey, f.state, f.once, f.json, f.interval, f.runner.timeout, f.localSources)
			}
			var logc *translog.Client // resolved now, not after a long build
			if f.log != "" {
				if logc, err = logClient(pol, f.log, f.vkey); err != nil {
					return err
				}
			}
			env, err := readEnvelope(args[0])
			if err != nil {
				return err
			}
			st, _, err := pol.CheckRelease(env)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			published := map[string]string{}
			for _, a := range f.artifacts {
				name, path, err := splitArtifact(a)
				if err != nil {
					return err
				}
				published[name] = path
			}
			ctx, cancel := context.WithTimeout(c.Context(), f.runner.timeout)
			defer cancel()
			stages := stagesFor(c, f.json)
			run.Stages = stages
			res, err := r.Rebuild(ctx, env, st, f.source, published)
			if err == nil {
				stages.Stage("done")
			}
			if res != nil && !f.json {
				fmt.Fprint(c.OutOrStdout(), rebuild.Report(res.Artifacts))
			}
			if errors.Is(err, rebuild.ErrMismatch) {
				if f.json {
					printJSON(c, map[string]any{"reproduced": false, "artifacts": res.Artifacts, "kept": res.Evidence})
				}
				return withHint(err, "the rebuilt artifacts are kept in "+res.Evidence+" (with report.txt); the rebuilt tree was deleted")
			}
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			out := f.out
			if out == "" {
				out = strings.TrimSuffix(args[0], ".json") + ".rebuild-" + r.Builder + ".json"
			}
			if err := writeEnvelope(out, res.Attestation, false); err != nil {
				return err
			}
			if f.json {
				if err := printJSON(c, map[string]any{"reproduced": true, "artifacts": res.Artifacts, "builder": r.Builder, "attestation": out}); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(c.OutOrStdout(), "attested by %s: %s\n", r.Builder, out)
			}
			if logc == nil {
				return nil
			}
			return publishAttestation(c, logc, res.Attestation, r.Signer.Public())
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.source, "source", "", "the source: a git repository directory or URL (default: the release's source.uri)")
	fl.StringVar(&f.key, "key", "", "the rebuilder's key file or KMS URI (required)")
	fl.StringVar(&f.policy, "policy", "", "the policy (default: the project's embedded policy)")
	fl.StringVar(&f.log, "log", "", "submit the attestation to this log")
	fl.StringVar(&f.vkey, "vkey", "", "the log's verifier key (default: from the policy)")
	fl.StringVar(&f.out, "out", "", "attestation file (default: RELEASE.rebuild-BUILDER.json)")
	fl.StringArrayVar(&f.artifacts, "artifact", nil, "published artifact NAME=PATH, to explain a mismatch (repeat)")
	fl.BoolVar(&f.keep, "keep", false, "keep the work directory even when the release rebuilds")
	fl.BoolVar(&f.json, "json", false, "print the comparison and the attestation's path as JSON")
	fl.StringVar(&f.follow, "follow", "", "follow this log and rebuild each new release")
	fl.StringVar(&f.state, "state", "", "with --follow: directory for progress and attestations")
	fl.BoolVar(&f.once, "once", false, "with --follow: one pass")
	fl.DurationVar(&f.interval, "interval", time.Minute, "with --follow: time between passes")
	fl.BoolVar(&f.localSources, "allow-local-sources", false, "with --follow: also rebuild releases whose source is a local repository (a path or file:// URL)")
	f.runner.register(fl)
	c.MarkFlagRequired("key")
	return c
}

// followLog runs rebuild --follow.
func followLog(c *cobra.Command, pol *policies.Policy, r *rebuild.Rebuilder, logURL, vkey, state string, once, asJSON bool, interval, timeout time.Duration, localSources bool) error {
	if state == "" {
		return withHint(errors.New("--follow needs --state DIR"), "the directory keeps which entries were handled, and the attestations")
	}
	client, err := logClient(pol, logURL, vkey)
	if err != nil {
		return err
	}
	lock, err := ownStateDir(state)
	if err != nil {
		return err
	}
	defer lock.Release()
	fw := &rebuild.Follower{Log: client, Policy: pol, Rebuilder: r, Dir: state, Report: c.OutOrStdout(), Timeout: timeout, LocalSources: localSources}
	if asJSON {
		fw.Report = c.ErrOrStderr() // standard output is the passes' JSON
	}
	for {
		pass, err := fw.Run(c.Context())
		if err != nil {
			return err
		}
		if asJSON {
			if err := printJSON(c, pass); err != nil {
				return err
			}
		}
		fmt.Fprintf(c.ErrOrStderr(), "ssms: rebuild: entries %d to %d: %d attested, %d did not rebuild, %d could not be rebuilt\n", pass.From, pass.To, pass.Attested, pass.Mismatched, len(pass.Failed))
		for _, fl := range pass.Failed {
			next := "given up; see " + filepath.Join(state, "follow.json")
			if !fl.GaveUp {
				next = "to be tried again"
			}
			fmt.Fprintf(c.ErrOrStderr(), "ssms: rebuild: entry %d: %s %s could not be rebuilt (attempt %d of %d, %s): %s\n", fl.Entry, fl.Product, fl.Version, fl.Attempts, rebuild.DefaultAttempts, next, fl.Error)
		}
		if once {
			if pass.Mismatched > 0 {
				return fmt.Errorf("%s did not rebuild bit for bit", plural(pass.Mismatched, "release"))
			}
			if len(pass.Failed) > 0 {
				return fmt.Errorf("%s could not be rebuilt", plural(len(pass.Failed), "release"))
			}
			return nil
		}
		select {
		case <-c.Context().Done():
			return nil
		case <-time.After(interval):
		}
	}
}

// publishAttestation submits the attestation, exactly as written to its file.
func publishAttestation(c *cobra.Command, client *translog.Client, att *manifest.Envelope, key *signer.PublicKey) error {
	raw, err := att.Marshal()
	if err != nil {
		return err
	}
	proof, cp, err := client.Add(c.Context(), raw)
	var logged *translog.LoggedAsError
	if errors.As(err, &logged) {
		proof, cp, err = loggedAs(logged, att, []*signer.PublicKey{key})
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.OutOrStdout(), "logged as entry %d of %s (checkpoint size %d)\n", proof.Index, cp.Origin, cp.Size)
	return nil
}
