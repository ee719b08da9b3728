package main

import (
	"fmt"
	"net"

	"github.com/spf13/cobra"

	"ssms.dev/ssms/internal/capped"
	"ssms.dev/ssms/updater/mirror"
	"ssms.dev/ssms/verifier"
)

func mirrorCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "mirror",
		Short: "Fill and serve a mirror: bundles and artifacts on any static file host",
		Long: `A mirror is a directory of PRODUCT/VERSION.bundle, sha256/HEX (the artifacts,
named by their digest) and PRODUCT/latest (the newest version added, an
unsigned hint). Any web server, object store or directory can hold one;
clients trust none of it: they verify each bundle and check each artifact
against the digest and size its release signs.`,
	}
	c.AddCommand(mirrorAddCmd(), mirrorServeCmd())
	return c
}

func mirrorAddCmd() *cobra.Command {
	var dir, policy string
	c := &cobra.Command{
		Use:   "add --dir D --policy policy.json BUNDLE ARTIFACT...",
		Short: "Add a verified release to a mirror",
		Long: `Verify the bundle as a publisher does (every check but freshness of the
client's view and minLogAge) from the pinned --policy, check that each
ARTIFACT (NAME=PATH, or PATH named by its base name) has the digest and size
its release signs, then write the bundle, the artifacts and the latest hint
into the mirror --dir, each file atomically. An artifact already in the
mirror is never overwritten.`,
		Example: `  ssms mirror add --dir /srv/mirror --policy policy.json app-1.0.0.bundle app=./app`,
		Args:    cobra.MinimumNArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			return runMirrorAdd(c, dir, policy, args[0], args[1:])
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "the mirror's directory (required)")
	c.Flags().StringVar(&policy, "policy", "", "the pinned policy the bundle must verify against (required)")
	c.MarkFlagRequired("dir")
	c.MarkFlagRequired("policy")
	return c
}

func runMirrorAdd(c *cobra.Command, dir, policy, bundlePath string, args []string) error {
	pinned, err := readEnvelope(policy)
	if err != nil {
		return err
	}
	raw, err := capped.ReadFile(bundlePath, verifier.MaxBundleSize)
	if err != nil {
		return err
	}
	b, err := verifier.ParseBundle(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", bundlePath, err)
	}
	rel, err := bundledRelease(b)
	if err != nil {
		return fmt.Errorf("%s: %w", bundlePath, err)
	}
	if _, _, err := selfCheck(raw, rel.Predicate.Product, pinned); err != nil {
		return withHint(fmt.Errorf("%s does not verify: %w", bundlePath, err), "nothing was added to the mirror")
	}
	arts := map[string]string{}
	for _, a := range args {
		name, path, err := splitArtifact(a)
		if err != nil {
			return err
		}
		if _, dup := arts[name]; dup {
			return fmt.Errorf("artifact %s given twice", name)
		}
		arts[name] = path
	}
	if _, err := mirror.Add(dir, raw, arts); err != nil {
		return withHint(err, "nothing was added to the mirror")
	}
	p := rel.Predicate
	fmt.Fprintf(c.OutOrStdout(), "added %s %s to %s: the bundle and %s\n", p.Product, p.Version, dir, plural(len(arts), "artifact"))
	return nil
}

func mirrorServeCmd() *cobra.Command {
	var dir, addr string
	c := &cobra.Command{
		Use:   "serve --dir D [--addr 127.0.0.1:8070]",
		Short: "Serve a mirror read-only over HTTP",
		Long: `Serve the mirror --dir over HTTP: GET and HEAD of its layout's paths only
(404 for any other path, 400 for a bad name, no directory listings), with
long cache lifetimes for bundles and artifacts and a short one for latest.
For tests and small sites; any static file server can serve a mirror.`,
		Example: `  ssms mirror serve --dir /srv/mirror --addr 127.0.0.1:8070`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.ErrOrStderr(), "ssms: mirror %s listening on http://%s\n", dir, ln.Addr())
			return serveUntilSignal(c, ln, mirror.Handler(dir))
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "the mirror's directory (required)")
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:8070", "address to listen on")
	c.MarkFlagRequired("dir")
	return c
}
