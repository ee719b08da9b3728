package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"ssms.dev/ssms/internal/atomicfile"
	"ssms.dev/ssms/internal/capped"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/signer"
	"ssms.dev/ssms/translog"
	"ssms.dev/ssms/witness"
)

func releasePublishCmd() *cobra.Command {
	var logURL, vkey, out, policyPath string
	c := &cobra.Command{
		Use:   "publish release.json --log URL [--out F.proof]",
		Short: "Append a fully signed release to a transparency log",
		Long: `Check that the release carries the policy's threshold, send the file's bytes,
unchanged, to the log, and verify the log's answer: a C2SP tlog-proof whose
checkpoint is signed by the log and includes exactly those bytes. The proof is
written to --out, or printed. Then the checkpoint must carry the policy's
witness quorum, as clients will demand: without it the command fails (the
entry is in the log all the same; the proof is still written).

A log holds one entry per release and set of signers: if it holds this release
already in other bytes, signed by the same keys or more (signatures in another
order or re-made, perhaps submitted by someone else first), it answers with
that entry. The command checks that it says the same and writes the logged
bytes next to the proof, as F.proof.entry: the proof is for them, and
"ssms log verify-proof F.proof --entry F.proof.entry" verifies it. Without
--out the command then fails, the proof printed, since the entry would be lost.

The log's verifier key comes from the policy's entry for --log, or --vkey.`,
		Example: `  ssms release publish release.json --log https://log.example.org --policy policy.json --out release.proof`,
		Args:    cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			pol, err := loadPolicyOrDefault(policyPath)
			if err != nil {
				return err
			}
			raw, err := capped.ReadFile(args[0], translog.MaxEntrySize)
			if err != nil {
				return err
			}
			env, err := readEnvelope(args[0])
			if err != nil {
				return err
			}
			st, _, err := pol.CheckRelease(env)
			if err != nil {
				return withHint(fmt.Errorf("%s: %w", args[0], err), "only a release that meets the threshold is published")
			}
			what := fmt.Sprintf("%s %s %s", st.Predicate.Type, st.Predicate.Product, st.Predicate.Version)
			return publish(c, publication{raw: raw, env: env, file: args[0], noun: "release", what: what, keys: pol.MaintainerKeys(), pol: pol, logURL: logURL, vkey: vkey, out: out})
		},
	}
	c.Flags().StringVar(&logURL, "log", "", "the log's URL (required)")
	c.Flags().StringVar(&vkey, "vkey", "", "the log's verifier key (default: from the policy)")
	c.Flags().StringVar(&out, "out", "", "write the tlog-proof here instead of printing it")
	c.Flags().StringVar(&policyPath, "policy", "", "the policy (default: the project's embedded policy)")
	c.MarkFlagRequired("log")
	return c
}

// publication is one signed document to append to a log.
type publication struct {
	raw    []byte
	env    *manifest.Envelope
	file   string              // where raw came from
	noun   string              // "release", "policy"
	what   string              // "release demo 1.0.0", for messages
	keys   []*signer.PublicKey // whose signatures a logged copy must carry too
	pol    *policies.Policy    // its log keys and witness quorum
	logURL string
	vkey   string
	out    string
}

// publish sends p's bytes, unchanged, to the log, checks the proof it
// answers with, writes it, and demands the policy's witness quorum.
func publish(c *cobra.Command, p publication) error {
	pol, raw, env, out, logURL, vkey := p.pol, p.raw, p.env, p.out, p.logURL, p.vkey
	client, err := logClient(pol, logURL, vkey)
	if err != nil {
		return err
	}
	proof, cp, err := client.Add(c.Context(), raw)
	var herr *translog.HTTPError
	if errors.As(err, &herr) && herr.Status == 403 && strings.Contains(herr.Message, "logged already") {
		return withHint(err, "fetch the logged envelopes of this "+p.noun+" from the log, add their signatures to yours, and publish again")
	}
	if errors.As(err, &herr) && herr.Status == 403 {
		return withHint(err, "the log admits envelopes signed by keys of the policies it serves (ssms log serve --policy)")
	}
	if errors.As(err, &herr) && herr.Status == 429 {
		return withHint(err, "each key may add a limited number of entries per hour (ssms log serve --max-adds-per-hour)")
	}
	var logged *translog.LoggedAsError
	var loggedEntry []byte // the logged bytes, when they are not the file's
	if errors.As(err, &logged) {
		if proof, cp, err = loggedAs(logged, env, p.keys); err != nil {
			return err
		}
		loggedEntry = logged.Entry
	}
	if err != nil {
		return err
	}
	if out == "" {
		if _, err := c.OutOrStdout().Write(proof.Marshal()); err != nil {
			return err
		}
		if loggedEntry != nil {
			return withHint(fmt.Errorf("the log holds this %s already as entry %d, in other bytes (signed by the same keys or more); the proof printed is for those bytes", p.noun, proof.Index),
				"run again with --out F.proof: the logged envelope is then written to F.proof.entry")
		}
		return checkPublishedQuorum(pol, proof, cp.Size)
	}
	if err := atomicfile.Write(out, proof.Marshal(), 0o644); err != nil {
		return err
	}
	// F.proof.entry is left only when the proof is for other bytes
	// than the file: a stale one would pair the proof with bytes it
	// is not for. (Unless it is the file published.)
	if loggedEntry != nil {
		if err := atomicfile.Write(out+".entry", loggedEntry, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(c.ErrOrStderr(), "ssms: the log holds this %s already as entry %d, in other bytes (signed by the same keys or more); the proof is for those bytes, written to %s.entry\n", p.noun, proof.Index, out)
	} else if err := removeStale(out+".entry", p.file); err != nil {
		return err
	}
	where := out
	if loggedEntry != nil {
		where = fmt.Sprintf("%s, for the logged envelope in %s.entry", out, out)
	}
	fmt.Fprintf(c.OutOrStdout(), "published %s as entry %d of %s (checkpoint size %d); proof in %s\n",
		p.what, proof.Index, cp.Origin, cp.Size, where)
	return checkPublishedQuorum(pol, proof, cp.Size)
}

// removeStale removes path, if it exists and is not the file published.
func removeStale(path, published string) error {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if pst, err := os.Stat(published); err == nil && os.SameFile(st, pst) {
		return nil
	}
	return os.Remove(path)
}

// checkPublishedQuorum demands of the checkpoint the log answered with the
// witness quorum of the policy: a release published without it cannot be
// installed, and the log's operator must hear of it now, not from users.
func checkPublishedQuorum(pol *policies.Policy, proof *translog.Proof, size int64) error {
	_, err := witness.CheckQuorum(proof.Checkpoint, pol.Witnesses.VKeys, pol.Witnesses.Quorum, time.Now(), pol.MaxAge())
	if err != nil {
		return withHint(fmt.Errorf("entry %d is in the log, but its checkpoint (size %d) lacks the policy's witnesses: %w", proof.Index, size, err),
			"check the log's --witness flags and warnings, and that its witnesses are up")
	}
	return nil
}

// loggedAs accepts the log's answer that it holds an envelope equivalent to
// env, once the logged bytes show it: the same payload, signed by every key
// of keys that signed env. A log cannot pass off another entry as ours.
func loggedAs(l *translog.LoggedAsError, env *manifest.Envelope, keys []*signer.PublicKey) (*translog.Proof, *translog.SignedCheckpoint, error) {
	got, err := manifest.ParseEnvelope(l.Entry)
	if err != nil || !got.Covers(env, keys) {
		return nil, nil, fmt.Errorf("%w; the logged envelope does not say the same", l)
	}
	return l.Proof, l.Checkpoint, nil
}

// logClient is a verifying client for the log at url, whose key is vkey
// or, when vkey is empty, the key the policy gives the log at url.
func logClient(p *policies.Policy, url, vkey string) (*translog.Client, error) {
	if vkey == "" {
		if vkey = p.LogVKey(url); vkey == "" {
			return nil, withHint(fmt.Errorf("the policy lists no log at %s", url),
				"pass the log's verifier key with --vkey, or add the log to the policy (--log VKEY=URL)")
		}
	}
	return translog.NewClient(url, vkey)
}
