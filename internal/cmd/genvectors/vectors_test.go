package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/verifier"
)

const root = "../../../testdata"

// TestVectorsAreCurrent regenerates the vectors and compares them with the
// committed files: the generator is deterministic and its output committed.
func TestVectorsAreCurrent(t *testing.T) {
	files, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(root, name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("testdata/%s is stale or missing; run: go run ./internal/cmd/genvectors", name)
		}
	}
}

// TestVectors checks every vector's verdict against the library.
func TestVectors(t *testing.T) {
	now, _ := manifest.ParseTime(Now)
	idx, err := os.ReadFile(filepath.Join(root, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vectors []Vector
	if err := json.Unmarshal(idx, &vectors); err != nil {
		t.Fatal(err)
	}
	valid := 0
	for _, v := range vectors {
		t.Run(v.File, func(t *testing.T) {
			err := check(v, now)
			if v.Valid && err != nil {
				t.Fatalf("valid vector (%s) rejected: %v", v.Why, err)
			}
			if !v.Valid && (err == nil || !strings.Contains(err.Error(), v.Error)) {
				t.Fatalf("invalid vector (%s): err = %v, want it to contain %q", v.Why, err, v.Error)
			}
		})
		if v.Valid {
			valid++
		}
	}
	if valid == 0 || valid == len(vectors) {
		t.Fatalf("%d of %d vectors valid: want both kinds", valid, len(vectors))
	}
}

func check(v Vector, now time.Time) error {
	if v.Kind == "bundle" {
		return checkBundle(v, now)
	}
	env, err := readEnvelope(v.File)
	if err != nil {
		return err
	}
	switch v.Kind {
	case "policy":
		_, err := policies.VerifyRoot(env, now)
		return err
	case "release":
		penv, err := readEnvelope(v.Policy)
		if err != nil {
			return err
		}
		p, err := policies.VerifyRoot(penv, now)
		if err != nil {
			return err
		}
		_, _, err = p.CheckRelease(env)
		return err
	}
	return fmt.Errorf("unknown kind %q", v.Kind)
}

func readEnvelope(name string) (*manifest.Envelope, error) {
	b, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		return nil, err
	}
	return manifest.ParseEnvelope(b)
}

// checkBundle verifies a bundle vector as a client installing it would.
func checkBundle(v Vector, now time.Time) error {
	penv, err := readEnvelope(v.Policy)
	if err != nil {
		return err
	}
	pinned, err := verifier.Pin(penv)
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(filepath.Join(root, v.File))
	if err != nil {
		return err
	}
	art, err := os.ReadFile(filepath.Join(root, v.Artifact))
	if err != nil {
		return err
	}
	name := filepath.Base(v.Artifact)
	_, err = verifier.Verify(verifier.Request{
		Bundle: raw, Product: name, Pinned: pinned, Now: now, Mode: verifier.ModeInstall,
		Artifacts: []verifier.Artifact{{Name: name, Digest: manifest.DigestBytes(art), Size: int64(len(art))}},
	})
	return err
}
