package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
)

func policyShowCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "show policy.json [--json]",
		Short: "Print what a policy says and which signatures it carries",
		Long: `Print a policy in full: its version, digest and expiry, the products it covers,
each maintainer with its key ID and whether it signed, the threshold of each
action, the rebuilders, logs and witnesses with their quorum, the checkpoint and
log ages, and the signatures present and missing. Nothing is trusted or
changed: a policy that lacks its threshold, or has expired, is shown as such.
"ssms policy sign" prints the same summary before it signs.`,
		Example: `  ssms policy show policy.json
  ssms policy show --json policy.json | jq '.signatures.missing'`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			env, err := readEnvelope(args[0])
			if err != nil {
				return err
			}
			s, err := summarizePolicy(args[0], env, time.Now())
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(c, s)
			}
			s.print(c.OutOrStdout())
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the summary as JSON")
	return c
}

// policySummary is what "policy show" prints, and its --json form.
type policySummary struct {
	File             string              `json:"file"`
	Version          uint64              `json:"version"`
	Digest           string              `json:"digest"`
	Expires          string              `json:"expires"`
	Expired          bool                `json:"expired"`
	Products         []string            `json:"products"`
	Maintainers      []keySummary        `json:"maintainers"`
	Thresholds       policies.Thresholds `json:"thresholds"`
	Rebuilders       []keySummary        `json:"rebuilders"`
	RebuildThreshold int                 `json:"rebuildThreshold"`
	Logs             []policies.Log      `json:"logs"`
	Witnesses        []string            `json:"witnesses"`
	WitnessQuorum    int                 `json:"witnessQuorum"`
	MaxCheckpointAge string              `json:"maxCheckpointAge"`
	MinLogAge        string              `json:"minLogAge"`
	Signatures       signatureSummary    `json:"signatures"`
}

type keySummary struct {
	Name   string `json:"name"`
	ID     string `json:"id"`
	Signed bool   `json:"signed"`
}

// signatureSummary counts the policy's own maintainers' signatures against
// its policy threshold. Others (a previous version's maintainers signing a
// rotation, or bad signatures) are listed under other.
type signatureSummary struct {
	Have    int      `json:"have"`
	Need    int      `json:"need"`
	Signed  []string `json:"signed"`
	Missing []string `json:"missing"`
	Other   []string `json:"other"`
}

func summarizePolicy(path string, env *manifest.Envelope, now time.Time) (*policySummary, error) {
	p, err := policies.Parse(env)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	v := env.Verify(p.MaintainerKeys())
	signed := map[string]bool{}
	for _, k := range v.Signers {
		signed[k.ID()] = true
	}
	s := &policySummary{
		File: path, Version: p.Version, Digest: p.Digest(), Expires: p.Expires,
		Expired: p.CheckExpiry(now) != nil, Products: p.Products,
		Maintainers: []keySummary{}, Thresholds: p.Maintainers.Thresholds,
		Rebuilders: []keySummary{}, RebuildThreshold: p.Rebuilders.Threshold,
		Logs: p.Logs, Witnesses: p.Witnesses.VKeys, WitnessQuorum: p.Witnesses.Quorum,
		MaxCheckpointAge: p.MaxCheckpointAge, MinLogAge: p.MinLogAge,
		Signatures: signatureSummary{Have: len(v.Signers), Need: p.Threshold(policies.ActionPolicy),
			Signed: []string{}, Missing: []string{}, Other: append([]string{}, v.Rejected...)},
	}
	for _, k := range p.Maintainers.Keys {
		s.Maintainers = append(s.Maintainers, keySummary{Name: k.Name, ID: k.ID, Signed: signed[k.ID]})
		if signed[k.ID] {
			s.Signatures.Signed = append(s.Signatures.Signed, k.Name)
		} else {
			s.Signatures.Missing = append(s.Signatures.Missing, k.Name)
		}
	}
	for _, k := range p.Rebuilders.Keys {
		s.Rebuilders = append(s.Rebuilders, keySummary{Name: k.Name, ID: k.ID})
	}
	if s.Witnesses == nil {
		s.Witnesses = []string{}
	}
	return s, nil
}

func (s *policySummary) print(w io.Writer) {
	expiry := "expires " + s.Expires
	if s.Expired {
		expiry = "EXPIRED at " + s.Expires
	}
	fmt.Fprintf(w, "%s: policy version %d, %s, %s\n", s.File, s.Version, s.Digest, expiry)
	fmt.Fprintf(w, "products: %s\n", strings.Join(s.Products, ", "))
	t := s.Thresholds
	fmt.Fprintf(w, "maintainers: %d; a release needs %d, a rollback %d, a policy change %d\n", len(s.Maintainers), t.Release, t.Rollback, t.Policy)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, k := range s.Maintainers {
		mark := "not signed"
		if k.Signed {
			mark = "signed"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", k.Name, k.ID, mark)
	}
	tw.Flush()
	if len(s.Rebuilders) == 0 {
		fmt.Fprintln(w, "rebuilders: none; releases need no rebuild attestation")
	} else {
		fmt.Fprintf(w, "rebuilders: %d; a release needs %d attestations\n", len(s.Rebuilders), s.RebuildThreshold)
		for _, k := range s.Rebuilders {
			fmt.Fprintf(tw, "  %s\t%s\n", k.Name, k.ID)
		}
		tw.Flush()
	}
	if len(s.Logs) == 0 {
		fmt.Fprintln(w, "logs: none")
	} else {
		fmt.Fprintf(w, "logs: %d\n", len(s.Logs))
		for _, l := range s.Logs {
			url := l.URL
			if url == "" {
				url = "(no URL)"
			}
			fmt.Fprintf(tw, "  %s\t%s\n", l.VKey, url)
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "witnesses: %d; a checkpoint needs %d cosignatures\n", len(s.Witnesses), s.WitnessQuorum)
	for _, v := range s.Witnesses {
		fmt.Fprintf(w, "  %s\n", v)
	}
	fmt.Fprintf(w, "a checkpoint may be %s old; a release installs %s after it is logged\n", s.MaxCheckpointAge, s.MinLogAge)
	sig := s.Signatures
	fmt.Fprintf(w, "signatures: %d of %d required policy signatures", sig.Have, sig.Need)
	if len(sig.Signed) > 0 {
		fmt.Fprintf(w, " (signed: %s)", strings.Join(sig.Signed, ", "))
	}
	if len(sig.Missing) > 0 {
		fmt.Fprintf(w, "; not signed by: %s", strings.Join(sig.Missing, ", "))
	}
	fmt.Fprintln(w)
	for _, o := range sig.Other {
		fmt.Fprintf(w, "  %s (a previous version's maintainer, for a rotation, or a bad signature)\n", o)
	}
}
