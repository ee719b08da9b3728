package policies

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ssms.dev/ssms/signer"
)

// withRootOverride sets the -X variable as a build would, for one test.
func withRootOverride(t *testing.T, v string) {
	t.Helper()
	was := rootOverride
	rootOverride = v
	t.Cleanup(func() { rootOverride = was })
}

func TestRootOverride(t *testing.T) {
	ms := maintainers(t, "ops-1", "ops-2")
	p := newPolicy(t, 1, ms, 1, 1, 2)
	p.Products = []string{"chat-server"}
	b, err := envelope(t, p, ms...).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	enc := EncodeRootOverride(b)
	if strings.ContainsAny(enc, "= \n") {
		t.Fatalf("the -X value has characters a recipe refuses: %q", enc)
	}
	withRootOverride(t, enc)
	got, err := Default(now)
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest() != p.Digest() || !got.AllowsProduct("chat-server") || got.AllowsProduct("smp-server") {
		t.Fatalf("Default is not the compiled-in override: %+v", got)
	}
	if !strings.Contains(RootSource(), RootOverrideVar) {
		t.Fatalf("RootSource %q does not say the root is a deployment's", RootSource())
	}
	// Padded base64 (what base64(1) prints) is read too.
	withRootOverride(t, base64.StdEncoding.EncodeToString(b))
	if got, err := Default(now); err != nil || got.Digest() != p.Digest() {
		t.Fatalf("padded override: %v", err)
	}
}

// A compiled-in root that is not one fails loudly, naming where it came
// from; it never falls back to the project's policy.
func TestRootOverrideRefusals(t *testing.T) {
	ms := maintainers(t, "ops-1", "ops-2")
	p := newPolicy(t, 1, ms, 1, 1, 2)
	below, _ := envelope(t, p, ms[0]).Marshal() // 1 of the 2 policy signatures
	expired := newPolicy(t, 1, ms, 1, 1, 2)
	expired.Expires = "2026-01-01T00:00:00Z"
	old, _ := envelope(t, expired, ms...).Marshal()
	for name, tc := range map[string]struct{ value, want string }{
		"not base64":      {"not*base64", "not base64"},
		"not an envelope": {EncodeRootOverride([]byte(`{"hello":1}`)), ""},
		"below threshold": {EncodeRootOverride(below), "signature"},
		"expired":         {EncodeRootOverride(old), "expire"},
	} {
		t.Run(name, func(t *testing.T) {
			withRootOverride(t, tc.value)
			_, err := Default(now)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.HasPrefix(err.Error(), "a deployment's root policy, compiled in with -X "+RootOverrideVar+": ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not say where the root came from and what is wrong (%q)", err, tc.want)
			}
		})
	}
}

func TestRootSourceProject(t *testing.T) {
	withRootOverride(t, "")
	if RootSource() != "the SSMS project's policy (policies/ssms.policy.json)" {
		t.Fatal(RootSource())
	}
}

// The public halves of the project's maintainer keys are published in
// policies/keys, one NAME.pub per maintainer of the embedded root, so
// that anyone can check who the root trusts (docs/release-process.md).
func TestProjectKeysPublished(t *testing.T) {
	withRootOverride(t, "")
	p, err := Default(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("keys/*.pub")
	if len(files) != len(p.Maintainers.Keys) {
		t.Fatalf("%d files in policies/keys, %d maintainers in the embedded root", len(files), len(p.Maintainers.Keys))
	}
	for _, k := range p.Maintainers.Keys {
		b, err := os.ReadFile(filepath.Join("keys", k.Name+".pub"))
		if err != nil {
			t.Fatalf("maintainer %s: %v", k.Name, err)
		}
		pub, err := signer.ParsePublicKey(b)
		if err != nil {
			t.Fatal(err)
		}
		if pub.ID() != k.ID {
			t.Errorf("keys/%s.pub has key ID %s; the embedded root says %s", k.Name, pub.ID(), k.ID)
		}
	}
}
