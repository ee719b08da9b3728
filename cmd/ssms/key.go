package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"ssms.dev/ssms/internal/atomicfile"
	"ssms.dev/ssms/internal/capped"
	"ssms.dev/ssms/signer"
)

func keyCmd() *cobra.Command {
	c := &cobra.Command{Use: "key", Short: "Create keys and compute key IDs"}
	c.AddCommand(keyGenerateCmd(), keyIDCmd())
	return c
}

func keyGenerateCmd() *cobra.Command {
	var out, alg, kms string
	var asJSON bool
	c := &cobra.Command{
		Use:   "generate --out NAME",
		Short: "Create a signing key: NAME.key (encrypted) and NAME.pub",
		Long: `Create a signing key pair. NAME.key holds the private key encrypted with a
passphrase (from SSMS_PASSWORD, or asked twice on the terminal) in the format
cosign uses; NAME.pub holds the public key (PEM SubjectPublicKeyInfo), which
goes into policies. Existing files are never overwritten.

With --kms URI the key is created in a KMS (awskms://, gcpkms://, hashivault://,
or NAME:// served by a sigstore-kms-NAME plugin on PATH) and only NAME.pub is
written; sign with --key URI.`,
		Example: `  ssms key generate --out alice
  ssms key generate --out ci --algorithm ecdsa-p256
  ssms key generate --out hsm --kms myhsm://releases/key1`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			a, err := signer.ParseAlgorithm(alg)
			if err != nil {
				return err
			}
			var pub *signer.PublicKey
			var written []string
			if kms != "" {
				if !signer.IsKMS(kms) {
					return withHint(fmt.Errorf("--kms %q is not a KMS URI", kms), "a KMS URI looks like awskms:///arn:… or myhsm://key")
				}
				if pub, err = signer.CreateKMS(c.Context(), kms, a); err != nil {
					return err
				}
			} else {
				if pub, err = generateKeyFile(out, a); err != nil {
					return err
				}
				written = append(written, out+".key")
			}
			if err := atomicfile.Create(out+".pub", pub.PEM(), 0o644); err != nil {
				if kms == "" {
					os.Remove(out + ".key")
				}
				return err
			}
			written = append(written, out+".pub")
			if asJSON {
				return printJSON(c, map[string]any{"files": written, "keyid": pub.ID(), "algorithm": pub.Algorithm()})
			}
			if kms == "" {
				fmt.Fprintf(c.OutOrStdout(), "wrote %s.key (encrypted) and %s.pub\n", out, out)
			} else {
				fmt.Fprintf(c.OutOrStdout(), "created key %s; wrote %s.pub\n", kms, out)
			}
			fmt.Fprintf(c.OutOrStdout(), "key ID %s (%s)\n", pub.ID(), pub.Algorithm())
			return nil
		},
	}
	c.Flags().StringVar(&out, "out", "", "base name of the files to write (required)")
	c.Flags().StringVar(&alg, "algorithm", "ed25519", "ed25519, ecdsa-p256 or rsa-pss (3072 bits)")
	c.Flags().StringVar(&kms, "kms", "", "create the key in this KMS instead of a file")
	c.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	c.MarkFlagRequired("out")
	return c
}

// generateKeyFile writes NAME.key, after checking that neither file of
// the pair exists, so that a failure leaves nothing behind.
func generateKeyFile(out string, a signer.Algorithm) (*signer.PublicKey, error) {
	for _, f := range []string{out + ".key", out + ".pub"} {
		if _, err := os.Lstat(f); err == nil {
			return nil, withHint(fmt.Errorf("%s already exists; not overwriting it", f), "choose another --out, or move the old key away first")
		}
	}
	pass, err := signer.Passphrase("passphrase for "+out+".key", true)
	if err != nil {
		return nil, err
	}
	priv, err := signer.Generate(a)
	if err != nil {
		return nil, err
	}
	pem, err := signer.MarshalPrivateKey(priv, pass)
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Create(out+".key", pem, 0o600); err != nil {
		return nil, err
	}
	return signer.NewPublicKey(priv.Public())
}

func keyIDCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "id FILE.pub",
		Short: "Print the key ID of a public key (hex SHA-256 of its DER)",
		Long: `Print the key ID of a public key file: the hex SHA-256 of its DER
SubjectPublicKeyInfo, which policies, signatures ("keyid") and errors use to
name the key. Compare it with the ID a maintainer reads out to you before you
list their key in a policy.`,
		Example: `  ssms key id alice.pub
  ssms key id --json alice.pub`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			pub, err := readPublicKey(args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(c, map[string]any{"keyid": pub.ID(), "algorithm": pub.Algorithm()})
			}
			fmt.Fprintln(c.OutOrStdout(), pub.ID())
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return c
}

func readPublicKey(path string) (*signer.PublicKey, error) {
	b, err := capped.ReadFile(path, signer.MaxPublicKeyPEM)
	if err != nil {
		return nil, err
	}
	pub, err := signer.ParsePublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return pub, nil
}

// loadSigner opens a key file (asking for its passphrase) or a KMS key.
func loadSigner(ctx context.Context, ref string) (signer.Signer, error) {
	if signer.IsKMS(ref) {
		return signer.LoadKMS(ctx, ref)
	}
	b, err := capped.ReadFile(ref, signer.MaxPrivateKeyPEM)
	if err != nil {
		return nil, err
	}
	pass, err := signer.Passphrase("passphrase for "+ref, false)
	if err != nil {
		return nil, err
	}
	s, err := signer.LoadPrivateKey(b, pass)
	if errors.Is(err, signer.ErrWrongPassphrase) {
		return nil, withHint(fmt.Errorf("%s: %w", ref, err), "the passphrase comes from "+signer.PassphraseEnv+" or the terminal prompt")
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	return s, nil
}
