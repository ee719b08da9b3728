package signer

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildKMSPlugin builds the test KMS plugin and puts it on PATH.
func buildKMSPlugin(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "sigstore-kms-ssmstest"), "./internal/kmsplugin").CombinedOutput()
	if err != nil {
		t.Fatalf("building the KMS plugin: %v\n%s", err, out)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

func TestKMSThroughSigstorePlugin(t *testing.T) {
	buildKMSPlugin(t)
	ctx := context.Background()
	ref := "ssmstest://" + filepath.Join(t.TempDir(), "kms.pem")
	if !IsKMS(ref) || IsKMS("alice.key") || IsKMS("./dir/alice.key") {
		t.Fatal("IsKMS misclassifies references")
	}
	for _, alg := range []Algorithm{Ed25519, ECDSAP256} {
		pub, err := CreateKMS(ctx, ref, alg)
		if err != nil {
			t.Fatalf("%s: create: %v", alg, err)
		}
		s, err := LoadKMS(ctx, ref)
		if err != nil {
			t.Fatalf("%s: load: %v", alg, err)
		}
		if !s.Public().Equal(pub) {
			t.Fatalf("%s: loaded key differs from created key", alg)
		}
		msg := []byte("release payload")
		sig, err := s.Sign(ctx, msg)
		if err != nil {
			t.Fatalf("%s: sign: %v", alg, err)
		}
		if err := pub.Verify(msg, sig); err != nil {
			t.Fatalf("%s: KMS signature does not verify: %v", alg, err)
		}
	}
	t.Setenv("SSMSTEST_KMS_LIE", "1")
	s, err := LoadKMS(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sign(ctx, []byte("x")); err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Fatalf("a KMS signing something else was not caught: %v", err)
	}
}

func TestKMSMissingProvider(t *testing.T) {
	_, err := LoadKMS(context.Background(), "nosuchkms://key")
	if err == nil || !strings.Contains(err.Error(), "nosuchkms://key") {
		t.Fatalf("err = %v, want a provider-not-found error naming the key", err)
	}
}
