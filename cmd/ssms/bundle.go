package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"ssms.dev/ssms/internal/atomicfile"
	"ssms.dev/ssms/internal/capped"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/translog"
	"ssms.dev/ssms/verifier"
	"ssms.dev/ssms/verifier/bundler"
)

type bundleFlags struct {
	log, vkey, product, version, policy, first, out, index string
	since                                                  []string
	asJSON                                                 bool
}

func bundleCmd() *cobra.Command {
	f := &bundleFlags{}
	c := &cobra.Command{
		Use:   "bundle --log URL --product P --version V --policy policy.json --first release.proof --out P-V.bundle",
		Short: "Gather from the log the one file that verifies a release offline",
		Long: `Find the release in the log, with its rebuild attestations and the policy chain
from the pinned --policy to the policy in force, and write them as the exact
bytes logged, each with a fresh proof against the log's latest cosigned
checkpoint, to one bundle file (application/vnd.ssms.bundle.v1+json, at most
1 MiB) that "ssms verify" and the updater check offline.

--first is the proof "ssms release publish --out" wrote: the checkpoint the
release was published under, with its witnesses' cosignatures, dates the
release for the policy's minLogAge (the log serves only its latest
checkpoint). --since adds a consistency proof from a checkpoint a client
accepted before (a signed checkpoint file, or a client's state.json).

The log is indexed in --index (default: a directory under the user's cache),
so that each bundle reads only the entries added since the last. The bundle
is verified before it is written; a release younger than minLogAge is
bundled all the same, and the time it becomes installable is printed.`,
		Example: `  ssms bundle --log http://127.0.0.1:8080 --product app --version 1.0.0 --policy policy.json \
      --first release.proof --out app-1.0.0.bundle`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runBundle(c, f) },
	}
	c.Flags().StringVar(&f.log, "log", "", "the log's URL (required)")
	c.Flags().StringVar(&f.vkey, "vkey", "", "the log's verifier key (default: from the policy)")
	c.Flags().StringVar(&f.product, "product", "", "the product (required)")
	c.Flags().StringVar(&f.version, "version", "", "the version (required)")
	c.Flags().StringVar(&f.policy, "policy", "", "the policy clients pin (required)")
	c.Flags().StringVar(&f.first, "first", "", "the proof release publish wrote (required)")
	c.Flags().StringVar(&f.out, "out", "", "the bundle file to write (required)")
	c.Flags().StringVar(&f.index, "index", "", "the directory of the log's index (default: under the user cache directory)")
	c.Flags().StringArrayVar(&f.since, "since", nil, "a checkpoint (or a client's state.json) to prove consistency from (repeat)")
	c.Flags().BoolVar(&f.asJSON, "json", false, "print the result as JSON")
	for _, name := range []string{"log", "product", "version", "policy", "first", "out"} {
		c.MarkFlagRequired(name)
	}
	return c
}

func runBundle(c *cobra.Command, f *bundleFlags) error {
	pinnedEnv, err := readEnvelope(f.policy)
	if err != nil {
		return err
	}
	pinned, err := policies.Parse(pinnedEnv)
	if err != nil {
		return fmt.Errorf("%s: %w", f.policy, err)
	}
	log, err := logClient(pinned, f.log, f.vkey)
	if err != nil {
		return err
	}
	first, err := readProof(f.first)
	if err != nil {
		return err
	}
	req := bundler.Request{Product: f.product, Version: f.version, First: first}
	for _, path := range f.since {
		cp, err := readSince(path, log)
		if err != nil {
			return err
		}
		req.Since = append(req.Since, cp)
	}
	if f.index == "" {
		if f.index, err = defaultIndexDir(log.VKey); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(f.index, 0o700); err != nil {
		return err
	}
	b, err := (&bundler.Bundler{Log: log, Pinned: pinnedEnv, IndexDir: f.index}).Make(c.Context(), req)
	if err != nil {
		return err
	}
	raw, err := b.Marshal()
	if err != nil {
		return err
	}
	res, until, err := selfCheck(raw, f.product, pinnedEnv)
	if err != nil {
		return withHint(fmt.Errorf("the bundle made does not verify: %w", err), "nothing was written")
	}
	if err := atomicfile.Write(f.out, raw, 0o644); err != nil {
		return err
	}
	if f.asJSON {
		return printJSON(c, verifySummary(res, verifier.ModeInstall))
	}
	p := res.Release.Predicate
	fmt.Fprintf(c.OutOrStdout(), "wrote %s (%d bytes): %s %s, sequence %d, entry %d of %s (head size %d), %s, policy version %d\n",
		f.out, len(raw), p.Product, p.Version, p.Sequence, res.Index, res.Head.Origin, res.Head.Size, plural(len(res.Rebuilders), "rebuild"), res.Policy.Version)
	if until.After(time.Now()) {
		fmt.Fprintf(c.OutOrStdout(), "installable from %s (minLogAge)\n", until.UTC().Format(time.RFC3339))
	}
	return nil
}

// selfCheck verifies a new bundle as a publisher can (verifier.ModePublish),
// with the release's own digests as the artifacts, and returns when the
// release may install.
func selfCheck(raw []byte, product string, pinned *manifest.Envelope) (*verifier.Result, time.Time, error) {
	b, err := verifier.ParseBundle(raw)
	if err != nil {
		return nil, time.Time{}, err
	}
	rel, err := bundledRelease(b)
	if err != nil {
		return nil, time.Time{}, err
	}
	var arts []verifier.Artifact
	for _, s := range rel.Subject {
		size, _ := s.Size()
		arts = append(arts, verifier.Artifact{Name: s.Name, Digest: s.Digest, Size: size})
	}
	pin, err := verifier.Pin(pinned)
	if err != nil {
		return nil, time.Time{}, err
	}
	res, err := verifier.Verify(verifier.Request{Bundle: raw, Product: product, Artifacts: arts, Pinned: pin, Now: time.Now(), Mode: verifier.ModePublish})
	if err != nil {
		return nil, time.Time{}, err
	}
	var until time.Time
	if age := res.Policy.LogAge(); age > 0 && !res.VisibleSince.IsZero() {
		until = res.VisibleSince.Add(age)
	}
	return res, until, nil
}

func readProof(path string) (*translog.Proof, error) {
	b, err := capped.ReadFile(path, translog.MaxProofSize)
	if err != nil {
		return nil, err
	}
	p, err := translog.ParseProof(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// readSince reads a signed checkpoint of log, or takes the one a
// client's state.json remembers for it.
func readSince(path string, log *translog.Client) (*translog.SignedCheckpoint, error) {
	b, err := capped.ReadFile(path, verifier.MaxStateSize)
	if err != nil {
		return nil, err
	}
	if st, err := verifier.ParseState(b); err == nil {
		cp, ok := st.Logs[log.Origin]
		if !ok {
			return nil, fmt.Errorf("%s: the client has accepted no checkpoint of %s", path, log.Origin)
		}
		b = []byte(cp)
	}
	cp, err := translog.OpenCheckpoint(b, log.Origin, log.Key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cp, nil
}

func defaultIndexDir(vkey string) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", withHint(err, "pass --index DIR")
	}
	h := sha256.Sum256([]byte(vkey))
	return filepath.Join(cache, "ssms", "bundle-index", hex.EncodeToString(h[:8])), nil
}
