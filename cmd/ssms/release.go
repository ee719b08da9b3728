package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"ssms.dev/ssms/internal/capped"
	"ssms.dev/ssms/internal/progress"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/signer"
)

func releaseCmd() *cobra.Command {
	c := &cobra.Command{Use: "release", Short: "Draft, sign and verify release manifests"}
	c.AddCommand(releaseDraftCmd(), releaseSignCmd(), releaseVerifyCmd(), releasePublishCmd())
	return c
}

type draftFlags struct {
	product, version, sourceURI, commit string
	recipe, typ, released, policy, out  string
	sequence                            uint64
	artifacts                           []string
	asJSON                              bool
}

func releaseDraftCmd() *cobra.Command {
	var f draftFlags
	c := &cobra.Command{
		Use:   "draft --product P --version V --sequence N --source-uri U --source-commit C --artifact NAME=PATH... --out release.json",
		Short: "Write an unsigned release manifest for built artifacts",
		Long: `Hash each artifact (SHA-256, streamed, with a progress bar on a terminal) and
write an unsigned release manifest: a DSSE envelope holding an in-toto
statement. Maintainers then sign it with "ssms release sign".

--sequence numbers a product's releases 1, 2, 3, …; clients refuse anything not
above what they run. A deliberate return to an older version is --type rollback
with the next sequence number, and needs the policy's rollback threshold.`,
		Example: `  ssms release draft --product smp-server --version 1.2.0 --sequence 7 \
      --source-uri https://example.org/ssms.git --source-commit $(git rev-parse HEAD) \
      --artifact smp-server=./dist/smp-server --policy policy.json --out release.json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return releaseDraft(c, &f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.product, "product", "", "product name (required)")
	fl.StringVar(&f.version, "version", "", "semantic version, like 1.2.0 (required)")
	fl.Uint64Var(&f.sequence, "sequence", 0, "release number, strictly increasing per product (required)")
	fl.StringVar(&f.sourceURI, "source-uri", "", "where the source is, like https://example.org/repo.git (required)")
	fl.StringVar(&f.commit, "source-commit", "", "full git commit ID of the source (required)")
	fl.StringVar(&f.recipe, "recipe", "", "JSON file: {toolchain, command, environment} to rebuild with")
	fl.StringArrayVar(&f.artifacts, "artifact", nil, "artifact as NAME=PATH, or PATH (repeat; required)")
	fl.StringVar(&f.typ, "type", manifest.TypeRelease, "release or rollback")
	fl.StringVar(&f.released, "released", "", "release time, RFC 3339 UTC (default now)")
	fl.StringVar(&f.policy, "policy", "", "policy the release is made under (default: the project's embedded policy)")
	fl.StringVar(&f.out, "out", "", "file to write (required; never overwritten)")
	fl.BoolVar(&f.asJSON, "json", false, "print the statement as JSON")
	for _, name := range []string{"product", "version", "sequence", "source-uri", "source-commit", "artifact", "out"} {
		c.MarkFlagRequired(name)
	}
	return c
}

func releaseDraft(c *cobra.Command, f *draftFlags) error {
	pol, err := loadPolicyOrDefault(f.policy)
	if err != nil {
		return err
	}
	if !pol.AllowsProduct(f.product) {
		return withHint(fmt.Errorf("product %q is not covered by the policy (it covers %s)", f.product, strings.Join(pol.Products, ", ")),
			"pass the policy the release is made under with --policy")
	}
	if f.released == "" {
		f.released = manifest.FormatTime(time.Now())
	}
	pred := manifest.ReleasePredicate{
		Product: f.product, Version: f.version, Sequence: f.sequence, Type: f.typ, Released: f.released,
		Source: manifest.Source{URI: f.sourceURI, Commit: f.commit}, Policy: pol.Digest(),
	}
	if f.recipe != "" {
		b, err := capped.ReadFile(f.recipe, 16<<10)
		if err != nil {
			return err
		}
		if pred.Build, err = manifest.ParseRecipe(b); err != nil {
			return fmt.Errorf("%s: %w", f.recipe, err)
		}
	}
	subjects, err := hashArtifacts(c, f.artifacts)
	if err != nil {
		return err
	}
	st, err := manifest.NewRelease(subjects, pred)
	if err != nil {
		return err
	}
	payload, err := manifest.MarshalRelease(st)
	if err != nil {
		return err
	}
	env := &manifest.Envelope{PayloadType: manifest.PayloadType, Payload: payload, Signatures: []manifest.Signature{}}
	if err := writeEnvelope(f.out, env, true); err != nil {
		return withHint(err, "a draft may carry signatures already; remove it first if you mean to start over")
	}
	if f.asJSON {
		return printJSON(c, st)
	}
	fmt.Fprintf(c.OutOrStdout(), "wrote %s: %s %s %s (sequence %d) with %s\n", f.out, st.Predicate.Type, f.product, f.version, f.sequence, plural(len(subjects), "artifact"))
	for _, s := range st.Subject {
		size, _ := s.Size()
		fmt.Fprintf(c.OutOrStdout(), "  %s  sha256:%s  %d bytes\n", s.Name, s.Digest.SHA256, size)
	}
	return nil
}

func hashArtifacts(c *cobra.Command, args []string) ([]manifest.Subject, error) {
	var subjects []manifest.Subject
	seen := map[string]bool{}
	for _, a := range args {
		name, path, err := splitArtifact(a)
		if err != nil {
			return nil, err
		}
		if seen[name] {
			return nil, fmt.Errorf("--artifact: %q given twice", name)
		}
		seen[name] = true
		d, size, err := digestWithProgress(c, name, path, manifest.MaxArtifactSize)
		if err != nil {
			return nil, err
		}
		subjects = append(subjects, manifest.SizedSubject(name, d, size))
	}
	return subjects, nil
}

// hashSigned hashes the artifact name at path, reading at most the size
// the release signs for it (up to MaxArtifactSize for a release from
// before sizes were signed, or an artifact it does not list). A longer
// file is a *tooLongError, which wraps manifest.ErrTooLong.
func hashSigned(c *cobra.Command, subjects []manifest.Subject, name, path string) (manifest.Digest, int64, error) {
	limit := int64(manifest.MaxArtifactSize)
	if sub, ok := manifest.FindSubject(subjects, name); ok {
		if size, ok := sub.Size(); ok {
			limit = size
		}
	}
	d, n, err := digestWithProgress(c, name, path, limit)
	if errors.Is(err, manifest.ErrTooLong) {
		return d, n, &tooLongError{name, path, limit}
	}
	return d, n, err
}

type tooLongError struct {
	name, path string
	limit      int64
}

func (e *tooLongError) Error() string {
	return fmt.Sprintf("artifact %s (%s) is longer than the %d bytes the release signs; it was not read further", e.name, e.path, e.limit)
}
func (e *tooLongError) Unwrap() error { return manifest.ErrTooLong }

// digestWithProgress hashes the artifact at path, refusing it as soon as it
// is longer than limit bytes.
func digestWithProgress(c *cobra.Command, name, path string, limit int64) (manifest.Digest, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return manifest.Digest{}, 0, fmt.Errorf("artifact %s: %w", name, err)
	}
	defer f.Close()
	var r io.Reader = f
	if fi, err := f.Stat(); err == nil {
		r = progress.Reader(f, min(fi.Size(), limit), "hashing "+name, c.ErrOrStderr())
	}
	d, n, err := manifest.DigestCapped(r, limit)
	if err != nil {
		return d, n, fmt.Errorf("artifact %s (%s): %w", name, path, err)
	}
	return d, n, nil
}

func releaseSignCmd() *cobra.Command {
	var key, policyPath string
	c := &cobra.Command{
		Use:   "sign release.json --key A.key [--policy policy.json]",
		Short: "Add one maintainer signature to a release manifest (offline, in place)",
		Long: `Show what is being signed, then add one signature to the release manifest, in
place. Works offline. A key signs once: a second signature by the same key is
refused, since thresholds count distinct keys.

With --policy (or when the release was drafted under the embedded policy), a
key that is not one of the policy's maintainers is warned about: its
signature counts for nothing, and the log refuses an envelope carrying it.`,
		Example: `  ssms release sign release.json --key alice.key --policy policy.json`,
		Args:    cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			env, err := readEnvelope(args[0])
			if err != nil {
				return err
			}
			if env.PayloadType != manifest.PayloadType {
				return fmt.Errorf("%s: payload type %q is not a release", args[0], env.PayloadType)
			}
			st, err := manifest.ParseRelease(env.Payload)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
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
			p := st.Predicate
			warnNotMaintainer(c, policyPath, p.Policy, s.Public())
			out := c.OutOrStdout()
			fmt.Fprintf(out, "signed %s %s %s (sequence %d) from %s@%s\n", p.Type, p.Product, p.Version, p.Sequence, p.Source.URI, p.Source.Commit)
			for _, sub := range st.Subject {
				fmt.Fprintf(out, "  %s  sha256:%s\n", sub.Name, sub.Digest.SHA256)
			}
			fmt.Fprintf(out, "with key %s; the manifest has %s\n", s.Public().ID(), plural(len(env.Signatures), "signature"))
			return nil
		},
	}
	c.Flags().StringVar(&key, "key", "", "private key file or KMS URI (required)")
	c.Flags().StringVar(&policyPath, "policy", "", "the policy in force, to warn when the key is not one of its maintainers")
	c.MarkFlagRequired("key")
	return c
}

// warnNotMaintainer warns when pub is not a maintainer of the policy in
// force: the one given, or else the embedded policy if the release was
// drafted under it. A signature by any other key is harmless but counts for
// nothing, which a maintainer signing with the wrong key file should hear
// now rather than at publish time.
func warnNotMaintainer(c *cobra.Command, policyPath, releasePolicy string, pub *signer.PublicKey) {
	pol, err := loadPolicyOrDefault(policyPath)
	if err != nil {
		fmt.Fprintf(c.ErrOrStderr(), "ssms: warning: cannot check that key %s is a maintainer: %v\n", pub.ID(), err)
		return
	}
	if policyPath == "" && pol.Digest() != releasePolicy {
		return // drafted under another policy, which we were not given
	}
	for _, k := range pol.MaintainerKeys() {
		if k.ID() == pub.ID() {
			return
		}
	}
	where := policyPath
	if where == "" {
		where = "the embedded policy"
	}
	fmt.Fprintf(c.ErrOrStderr(), "ssms: warning: key %s is not a maintainer of %s (version %d): its signature counts for nothing, and the log refuses an envelope that carries it\n", pub.ID(), where, pol.Version)
	fmt.Fprintln(c.ErrOrStderr(), "ssms: hint: sign with your maintainer key, or check that you were given the policy in force")
}

type artifactResult struct {
	Name   string `json:"name"`
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Match  bool   `json:"match"`
}

func releaseVerifyCmd() *cobra.Command {
	var policyPath string
	var artifacts []string
	var asJSON bool
	c := &cobra.Command{
		Use:   "verify release.json --policy policy.json [--artifact NAME=PATH]...",
		Short: "Check a release's signature threshold and artifact digests",
		Long: `Exit 0 only if the release is signed by the threshold of distinct maintainer
keys of the policy (the rollback threshold for a rollback), its product is in
the policy, the policy itself carries its own threshold and has not expired,
and every --artifact given matches its digest in the release. Otherwise say
what failed.`,
		Example: `  ssms release verify release.json --policy policy.json --artifact myapp=./dist/myapp
  ssms release verify --json release.json --policy policy.json --artifact myapp=./dist/myapp`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			pol, err := loadPolicy(policyPath)
			if err != nil {
				return err
			}
			env, err := readEnvelope(args[0])
			if err != nil {
				return err
			}
			st, ap, err := pol.CheckRelease(env)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			results, err := checkArtifacts(c, st, artifacts)
			p := st.Predicate
			if asJSON && err == nil {
				return printJSON(c, map[string]any{
					"product": p.Product, "version": p.Version, "sequence": p.Sequence, "type": p.Type,
					"threshold": ap.Need, "signers": ap.Signers, "artifacts": nonNilResults(results), "verified": true,
					"artifactsChecked": len(results),
				})
			}
			if err != nil {
				return err
			}
			out := c.OutOrStdout()
			fmt.Fprintf(out, "%s %s %s (sequence %d): %d of %d required %s signatures (%s)\n",
				p.Type, p.Product, p.Version, p.Sequence, len(ap.Signers), ap.Need, ap.Action, strings.Join(ap.Signers, ", "))
			for _, r := range results {
				fmt.Fprintf(out, "artifact %s (%s): sha256:%s matches\n", r.Name, r.Path, r.SHA256)
			}
			if len(results) == 0 {
				// Signatures alone say nothing about the files at hand.
				fmt.Fprintln(out, "verified the signatures only: no artifact was checked (give each with --artifact NAME=PATH)")
				return nil
			}
			fmt.Fprintln(out, "verified")
			return nil
		},
	}
	c.Flags().StringVar(&policyPath, "policy", "", "the trusted policy (required)")
	c.Flags().StringArrayVar(&artifacts, "artifact", nil, "artifact to check, as NAME=PATH or PATH (repeat)")
	c.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	c.MarkFlagRequired("policy")
	return c
}

func nonNilResults(r []artifactResult) []artifactResult {
	if r == nil {
		return []artifactResult{}
	}
	return r
}

// checkArtifacts hashes every given artifact and fails, naming all that
// do not match, if any does not.
func checkArtifacts(c *cobra.Command, st *manifest.ReleaseStatement, args []string) ([]artifactResult, error) {
	var results []artifactResult
	var problems []string
	for _, a := range args {
		name, path, err := splitArtifact(a)
		if err != nil {
			return nil, err
		}
		sub, ok := manifest.FindSubject(st.Subject, name)
		if !ok {
			var names []string
			for _, s := range st.Subject {
				names = append(names, s.Name)
			}
			problems = append(problems, fmt.Sprintf("artifact %s is not in the release (it lists %s)", name, strings.Join(names, ", ")))
			continue
		}
		d, n, err := hashSigned(c, st.Subject, name, path)
		if errors.Is(err, manifest.ErrTooLong) {
			problems = append(problems, err.Error())
			results = append(results, artifactResult{Name: name, Path: path})
			continue
		}
		if err != nil {
			return nil, err
		}
		if size, sized := sub.Size(); sized && n != size {
			problems = append(problems, fmt.Sprintf("artifact %s (%s) has %d bytes; the release signs %d", name, path, n, size))
			results = append(results, artifactResult{Name: name, Path: path, SHA256: d.SHA256})
			continue
		}
		r := artifactResult{Name: name, Path: path, SHA256: d.SHA256, Match: d.SHA256 == sub.Digest.SHA256}
		if !r.Match {
			problems = append(problems, fmt.Sprintf("artifact %s (%s) has sha256:%s; the release says sha256:%s", name, path, d.SHA256, sub.Digest.SHA256))
		}
		results = append(results, r)
	}
	if len(problems) > 0 {
		return results, &marked{errors.New(strings.Join(problems, "; ")), errArtifactMismatch}
	}
	return results, nil
}

// loadPolicy reads a policy the user trusts and checks that it carries its
// own threshold and is current.
func loadPolicy(path string) (*policies.Policy, error) {
	env, err := readEnvelope(path)
	if err != nil {
		return nil, err
	}
	p, err := policies.VerifyRoot(env, time.Now())
	var te *policies.ThresholdError
	if errors.As(err, &te) {
		return nil, withHint(fmt.Errorf("%s: %w", path, err), "each maintainer signs it: ssms policy sign "+path+" --key NAME.key")
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

func loadPolicyOrDefault(path string) (*policies.Policy, error) {
	if path != "" {
		return loadPolicy(path)
	}
	return policies.Default(time.Now())
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
