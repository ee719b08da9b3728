package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"ssms.dev/ssms/internal/atomicfile"
	"ssms.dev/ssms/internal/capped"
	"ssms.dev/ssms/manifest"
)

// readEnvelope reads and parses a DSSE envelope file.
func readEnvelope(path string) (*manifest.Envelope, error) {
	b, err := capped.ReadFile(path, manifest.MaxEnvelopeSize)
	if err != nil {
		return nil, err
	}
	env, err := manifest.ParseEnvelope(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return env, nil
}

// writeEnvelope replaces path with env, atomically.
func writeEnvelope(path string, env *manifest.Envelope, create bool) error {
	b, err := env.Marshal()
	if err != nil {
		return err
	}
	if create {
		return atomicfile.Create(path, b, 0o644)
	}
	return atomicfile.Write(path, b, 0o644)
}

// printJSON writes v as indented JSON, for --json.
func printJSON(c *cobra.Command, v any) error {
	enc := json.NewEncoder(c.OutOrStdout())
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// keyName is the name a key file gives its key: alice.pub → alice.
func keyName(path string) string {
	base := filepath.Base(path)
	for _, ext := range []string{".pub", ".key", ".pem"} {
		base = strings.TrimSuffix(base, ext)
	}
	return base
}

// splitArtifact parses NAME=PATH; a bare PATH is named after its file.
func splitArtifact(arg string) (name, path string, err error) {
	name, path, ok := strings.Cut(arg, "=")
	if !ok {
		path, name = arg, filepath.Base(arg)
	}
	if path == "" {
		return "", "", fmt.Errorf("--artifact %q: want NAME=PATH", arg)
	}
	if err := manifest.CheckArtifactName(name); err != nil {
		return "", "", fmt.Errorf("--artifact %q: %w", arg, err)
	}
	return name, path, nil
}
