package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"ssms.dev/ssms/internal/capped"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/verifier"
	"ssms.dev/ssms/verifier/statedir"
)

type verifyFlags struct {
	policy, bundle, product, state, mode string
	artifacts                            []string
	asJSON                               bool
}

func verifyCmd() *cobra.Command {
	f := &verifyFlags{}
	c := &cobra.Command{
		Use:   "verify --policy policy.json --bundle F.bundle --artifact NAME=PATH... [--state DIR] [--mode install|installed]",
		Short: "Decide offline whether an artifact may run: every check of the release, from one bundle",
		Long: `Check, without any network access, that the artifacts are those of a release
that the policy in force approves (reached from the pinned --policy through
the bundle's logged policy chain), that is in the log under a head checkpoint
signed by a log of the policy and cosigned by a fresh witness quorum, that
enough rebuilders reproduced, that has been visible in the log for the
policy's minLogAge, and that moves forward from what --state remembers.

With --state DIR the verifier remembers, in DIR/state.json, the last
checkpoint of each log, the policies accepted and what was installed, and
updates it only when every check passed: a later bundle must extend that
checkpoint (give it one made with "ssms bundle --since DIR/state.json"), keep
that policy history, and have a higher sequence. A proven fork of the log is
written to DIR as evidence for "ssms verify-evidence".

--mode installed is the start-up self-check of what is installed: no
freshness, expiry or minLogAge, the policy recorded at install, so a machine
without network still starts; it changes nothing in the state.`,
		Example: `  ssms verify --policy policy.json --bundle app-1.0.0.bundle --artifact app=./app --product app --state ~/.local/state/app
  ssms verify --policy policy.json --bundle app-1.0.0.bundle --artifact app=/usr/bin/app --product app --state /var/lib/app --mode installed`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runVerify(c, f) },
	}
	c.Flags().StringVar(&f.policy, "policy", "", "the pinned policy: the root of trust (required)")
	c.Flags().StringVar(&f.bundle, "bundle", "", "the release's bundle, from ssms bundle (required)")
	c.Flags().StringArrayVar(&f.artifacts, "artifact", nil, "artifact to check, as NAME=PATH or PATH (repeat; at least one)")
	c.Flags().StringVar(&f.product, "product", "", "the product this must be (required with --state; default: the bundle's)")
	c.Flags().StringVar(&f.state, "state", "", "the client's state directory (default: remember nothing)")
	c.Flags().StringVar(&f.mode, "mode", "install", "install (every check) or installed (the start-up self-check)")
	c.Flags().BoolVar(&f.asJSON, "json", false, "print the result as JSON")
	c.MarkFlagRequired("policy")
	c.MarkFlagRequired("bundle")
	c.MarkFlagRequired("artifact")
	c.RegisterFlagCompletionFunc("mode", cobra.FixedCompletions([]string{"install", "installed"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

func runVerify(c *cobra.Command, f *verifyFlags) error {
	mode, err := parseMode(f.mode)
	if err != nil {
		return err
	}
	pinnedEnv, err := readEnvelope(f.policy)
	if err != nil {
		return err
	}
	pinned, err := verifier.Pin(pinnedEnv)
	if err != nil {
		return fmt.Errorf("%s: %w", f.policy, err)
	}
	raw, err := capped.ReadFile(f.bundle, verifier.MaxBundleSize)
	if err != nil {
		return err
	}
	b, err := verifier.ParseBundle(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", f.bundle, err)
	}
	rel, err := bundledRelease(b)
	if err != nil {
		return fmt.Errorf("%s: %w", f.bundle, err)
	}
	if f.product == "" && f.state != "" {
		// The bundle must not say which product it installs: another
		// product's bundle and binary would be recorded as an install of
		// that product, past this one's rollback protection.
		return withHint(errors.New("--state needs --product: the product installed here"), fmt.Sprintf("the bundle is for %s; if that is the product, pass --product %s", rel.Predicate.Product, rel.Predicate.Product))
	}
	if f.product == "" {
		f.product = rel.Predicate.Product // checked, nothing remembered
	}
	arts, err := hashForVerify(c, rel, f.artifacts)
	if err != nil {
		return err
	}
	req := verifier.Request{Bundle: raw, Product: f.product, Artifacts: arts, Pinned: pinned, Now: time.Now(), Mode: mode}
	var dir *statedir.Dir
	switch {
	case f.state != "" && mode == verifier.ModeInstalled:
		// The self-check writes nothing: it reads the state without the
		// lock, so that it never waits on (or fails for) an update.
		req.State, err = statedir.Read(f.state)
	case f.state != "":
		if dir, err = statedir.Open(f.state); err != nil {
			return err
		}
		defer dir.Close()
		req.State, err = dir.Load()
	}
	if err != nil {
		return withHint(err, "the state file is damaged, which is not an attack alarm: restore it from a backup, or remove it to trust only the pinned policy again")
	}
	res, err := verifier.Verify(req)
	if err != nil {
		return verifyRefused(c, err, dir, req.Now)
	}
	if dir != nil && mode == verifier.ModeInstall {
		if err := dir.Save(res.Next); err != nil {
			return err
		}
	}
	if f.asJSON {
		return printJSON(c, verifySummary(res, mode))
	}
	printVerified(c, res, mode)
	return nil
}

func parseMode(s string) (verifier.Mode, error) {
	switch s {
	case "install":
		return verifier.ModeInstall, nil
	case "installed":
		return verifier.ModeInstalled, nil
	}
	return 0, withHint(fmt.Errorf("--mode %q", s), "use --mode install or --mode installed")
}

// bundledRelease is the release statement in a parsed bundle, read only
// to know the artifacts' signed sizes before hashing; Verify checks it.
func bundledRelease(b *verifier.Bundle) (*manifest.ReleaseStatement, error) {
	env, err := manifest.ParseEnvelope(b.Release.Entry)
	if err != nil {
		return nil, err
	}
	return manifest.ParseRelease(env.Payload)
}

// hashForVerify hashes each artifact, reading no more than its signed
// size and one byte (hashSigned).
func hashForVerify(c *cobra.Command, rel *manifest.ReleaseStatement, args []string) ([]verifier.Artifact, error) {
	var out []verifier.Artifact
	for _, a := range args {
		name, path, err := splitArtifact(a)
		if err != nil {
			return nil, err
		}
		d, n, err := hashSigned(c, rel.Subject, name, path)
		if errors.Is(err, manifest.ErrTooLong) {
			return nil, fmt.Errorf("%w: %w", verifier.ErrArtifact, err)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, verifier.Artifact{Name: name, Digest: d, Size: n})
	}
	return out, nil
}

// verifyRefused explains a refusal: a fork is written out as evidence.
func verifyRefused(c *cobra.Command, err error, dir *statedir.Dir, now time.Time) error {
	var fe *verifier.ForkError
	var early *verifier.TooEarlyError
	switch {
	case errors.As(err, &fe) && dir != nil:
		path, werr := dir.SaveEvidence(fe.Evidence, now)
		if werr != nil {
			return errors.Join(err, werr)
		}
		return withHint(err, fmt.Sprintf("do not run it; the evidence is in %s: send it to the project's maintainers and log auditors (anyone can check it: ssms verify-evidence %s --policy POLICY)", path, path))
	case errors.As(err, &early):
		return withHint(err, "wait until then: monitors get that long to raise an alarm")
	case errors.Is(err, verifier.ErrConsistency):
		return withHint(err, "ask for a bundle made after this client's last check, with: ssms bundle ... --since STATE_DIR/state.json")
	}
	return err // explainSecurity says what it may mean and what to do
}

// verified is the --json result.
type verified struct {
	Product      string   `json:"product"`
	Version      string   `json:"version"`
	Sequence     uint64   `json:"sequence"`
	Type         string   `json:"type"`
	Mode         string   `json:"mode"`
	Signers      []string `json:"signers"`
	Policy       uint64   `json:"policyVersion"`
	Log          string   `json:"log"`
	Index        int64    `json:"index"`
	HeadSize     int64    `json:"headSize"`
	Witnesses    []string `json:"witnesses"`
	Rebuilders   []string `json:"rebuilders"`
	VisibleSince string   `json:"visibleSince,omitempty"`
	Bundle       string   `json:"bundle"`
}

func verifySummary(res *verifier.Result, mode verifier.Mode) verified {
	p := res.Release.Predicate
	v := verified{
		Product: p.Product, Version: p.Version, Sequence: p.Sequence, Type: p.Type, Mode: mode.String(), Signers: res.Signers,
		Policy: res.Policy.Version, Log: res.Head.Origin, Index: res.Index, HeadSize: res.Head.Size, Witnesses: []string{},
		Rebuilders: res.Rebuilders, Bundle: res.Bundle,
	}
	for _, w := range res.Witnesses {
		v.Witnesses = append(v.Witnesses, fmt.Sprintf("%s (%s)", w.Witness, w.Time.UTC().Format(time.RFC3339)))
	}
	if !res.VisibleSince.IsZero() {
		v.VisibleSince = res.VisibleSince.UTC().Format(time.RFC3339)
	}
	return v
}

func printVerified(c *cobra.Command, res *verifier.Result, mode verifier.Mode) {
	v := verifySummary(res, mode)
	w := c.OutOrStdout()
	fmt.Fprintf(w, "verified (%s): %s %s, sequence %d (%s)\n", v.Mode, v.Product, v.Version, v.Sequence, v.Type)
	fmt.Fprintf(w, "  signed by     %s (policy version %d)\n", strings.Join(v.Signers, ", "), v.Policy)
	fmt.Fprintf(w, "  in the log    %s, entry %d of %d\n", v.Log, v.Index, v.HeadSize)
	fmt.Fprintf(w, "  witnesses     %s\n", strings.Join(v.Witnesses, ", "))
	fmt.Fprintf(w, "  rebuilt by    %s\n", orNone(v.Rebuilders))
	if v.VisibleSince != "" {
		fmt.Fprintf(w, "  visible since %s\n", v.VisibleSince)
	}
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "(none required)"
	}
	return strings.Join(s, ", ")
}
