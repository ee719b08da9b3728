// Package docs holds the project's documentation; its test keeps the
// examples in formats.md true.
package docs

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"ssms.dev/ssms/internal/vkey"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/signer"
	"ssms.dev/ssms/translog"
	"ssms.dev/ssms/verifier"
)

// FormatExamples returns formats.md's fenced blocks by their check=NAME;
// a block marked check=none must give a reason after it.
func FormatExamples(t testing.TB, path string) map[string]string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	var name string
	var text strings.Builder
	in := false
	for n, l := range strings.Split(string(b), "\n") {
		switch {
		case !in && strings.HasPrefix(l, "```"):
			_, check, ok := strings.Cut(l, " check=")
			if !ok {
				t.Fatalf("%s:%d: a block without check=NAME (or check=none REASON)", path, n+1)
			}
			if name, _, _ = strings.Cut(check, " "); name == "none" && strings.TrimSpace(strings.TrimPrefix(check, "none")) == "" {
				t.Fatalf("%s:%d: check=none needs a reason", path, n+1)
			}
			in = true
			text.Reset()
		case in && l == "```":
			in = false
			if name == "none" {
				continue
			}
			if _, dup := out[name]; dup {
				t.Fatalf("%s:%d: two blocks check=%s", path, n+1, name)
			}
			out[name] = text.String()
		case in:
			text.WriteString(l + "\n")
		}
	}
	if in {
		t.Fatalf("%s: a block is not closed", path)
	}
	return out
}

// compact turns an indented example back into the one line it is.
func compact(t *testing.T, s string) []byte {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestFormatExamples parses every example in formats.md with the parser
// the code uses, and checks the log's signature on the checkpoint and the
// proof of the release against the log key shown.
func TestFormatExamples(t *testing.T) {
	ex := FormatExamples(t, "formats.md")
	check := map[string]func(t *testing.T, s string){
		"pub": func(t *testing.T, s string) {
			if _, err := signer.ParsePublicKey([]byte(s)); err != nil {
				t.Fatal(err)
			}
		},
		"vkey-log": func(t *testing.T, s string) {
			if _, err := vkey.Parse(strings.TrimSpace(s), vkey.AlgEd25519); err != nil {
				t.Fatal(err)
			}
		},
		"vkey-witness": func(t *testing.T, s string) {
			if _, err := vkey.Parse(strings.TrimSpace(s), vkey.AlgCosignatureV1); err != nil {
				t.Fatal(err)
			}
		},
		"policy-envelope": func(t *testing.T, s string) {
			env, err := manifest.ParseCanonicalEnvelope([]byte(s))
			if err != nil {
				t.Fatal(err)
			}
			p, err := policies.Parse(env)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Approve(env, policies.ActionPolicy, "the example policy"); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(env.Payload, compact(t, ex["policy"])) {
				t.Fatal("the policy shown is not the envelope's payload")
			}
		},
		"policy": func(t *testing.T, s string) {
			if _, err := policies.ParsePolicy(compact(t, s)); err != nil {
				t.Fatal(err)
			}
		},
		"release-envelope": func(t *testing.T, s string) {
			env, err := manifest.ParseCanonicalEnvelope([]byte(s))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(env.Payload, compact(t, ex["release"])) {
				t.Fatal("the release shown is not the envelope's payload")
			}
		},
		"release": func(t *testing.T, s string) {
			if _, err := manifest.ParseRelease(compact(t, s)); err != nil {
				t.Fatal(err)
			}
		},
		"recipe": func(t *testing.T, s string) {
			if _, err := manifest.ParseRecipe([]byte(s)); err != nil {
				t.Fatal(err)
			}
		},
		"rebuild": func(t *testing.T, s string) {
			if _, err := manifest.ParseRebuild(compact(t, s)); err != nil {
				t.Fatal(err)
			}
		},
		"checkpoint": func(t *testing.T, s string) {
			v, err := translog.NewVerifier(strings.TrimSpace(ex["vkey-log"]))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := translog.OpenCheckpoint([]byte(s), v.Name(), v); err != nil {
				t.Fatal(err)
			}
		},
		"proof": func(t *testing.T, s string) {
			p, err := translog.ParseProof([]byte(s))
			if err != nil {
				t.Fatal(err)
			}
			v, err := translog.NewVerifier(strings.TrimSpace(ex["vkey-log"]))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := translog.VerifyProof(p, []byte(ex["release-envelope"]), v.Name(), v); err != nil {
				t.Fatal(err)
			}
		},
		"evidence": func(t *testing.T, s string) {
			if _, err := translog.ParseEvidence([]byte(s)); err != nil {
				t.Fatal(err)
			}
		},
		"state": func(t *testing.T, s string) {
			if _, err := verifier.ParseState([]byte(strings.TrimSuffix(s, "\n"))); err != nil {
				t.Fatal(err)
			}
		},
		"journal": func(t *testing.T, s string) {}, // package updater's TestJournalExample parses it
	}
	for name, text := range ex {
		f, ok := check[name]
		if !ok {
			t.Errorf("formats.md: no check for check=%s", name)
			continue
		}
		t.Run(name, func(t *testing.T) { f(t, text) })
	}
	for name := range check {
		if _, ok := ex[name]; !ok {
			t.Errorf("formats.md has no check=%s example", name)
		}
	}
}
