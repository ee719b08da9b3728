package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"ssms.dev/ssms/internal/atomicfile"
	"ssms.dev/ssms/manifest"
)

// readFile reads at most limit bytes of path, naming the file in errors.
func readFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than the limit of %d bytes", path, limit)
	}
	return b, nil
}

// readEnvelope reads and parses a DSSE envelope file.
func readEnvelope(path string) (*manifest.Envelope, error) {
	b, err := readFile(path, manifest.MaxEnvelopeSize)
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
