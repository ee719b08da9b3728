package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/rebuild"
)

// TestDeploymentRoot builds ssms with a deployment's own root policy
// compiled in (the flag "ssms policy root-flags" prints) and checks that
// the binary uses it, and only it, where it would use the project's.
func TestDeploymentRoot(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ssms")
	}
	repo, err := filepath.Abs("../..") // before the Chdir
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("SSMS_PASSWORD", "root-test-passphrase")
	ssms := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := run(args, &out, &errb)
		return out.String(), errb.String(), code
	}
	must := func(args ...string) string {
		t.Helper()
		out, errs, code := ssms(args...)
		if code != 0 {
			t.Fatalf("ssms %s: exit %d\n%s", strings.Join(args, " "), code, errs)
		}
		return out
	}
	must("key", "generate", "--out", "ops")
	must("policy", "init", "--out", "policy.json", "--product", "chat-server", "--maintainer", "ops.pub", "--threshold", "1")

	// An unsigned policy is no root: refused before any flag is printed.
	out, errs, code := ssms("policy", "root-flags", "policy.json")
	if code != 1 || out != "" || !strings.Contains(errs, "0 of 1 required policy signatures") {
		t.Fatalf("unsigned root: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	must("policy", "sign", "policy.json", "--key", "ops.key")
	flag := strings.TrimSpace(must("policy", "root-flags", "policy.json"))
	if !strings.HasPrefix(flag, "-X "+policies.RootOverrideVar+"=") || strings.Count(flag, "=") != 1 || strings.Contains(flag, "\n") {
		t.Fatalf("root-flags printed %q", flag)
	}

	// The recipe variant passes the rebuilders' recipe policy.
	recipe := filepath.Join(repo, "recipes", "smp-client.json")
	must("policy", "root-flags", "policy.json", "--recipe", recipe, "--out", "smp-client.recipe.json")
	b, err := os.ReadFile("smp-client.recipe.json")
	if err != nil {
		t.Fatal(err)
	}
	r, err := manifest.ParseRecipe(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := rebuild.CheckRecipe(r); err != nil {
		t.Fatalf("the recipe with the root is refused: %v", err)
	}
	if !strings.Contains(strings.Join(r.Command, " "), "-ldflags=-buildid= "+flag) {
		t.Fatalf("the root flag is not in the recipe's -ldflags: %q", r.Command)
	}
	if _, _, code := ssms("policy", "root-flags", "policy.json", "--recipe", recipe, "--out", "smp-client.recipe.json"); code != 1 {
		t.Fatal("root-flags overwrote its --out")
	}

	bin := filepath.Join(dir, "ssms-deployment")
	build := exec.Command("go", "build", "-ldflags", flag, "-o", bin, "ssms.dev/ssms/cmd/ssms")
	build.Dir = repo
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build with the root flag: %v\n%s", err, out)
	}
	os.WriteFile("artifact", []byte("chat-server 1.0.0\n"), 0o644)
	draft := []string{"release", "draft", "--product", "chat-server", "--version", "1.0.0", "--sequence", "1",
		"--source-uri", "https://example.org/chat.git", "--source-commit", strings.Repeat("a", 40), "--artifact", "chat-server=artifact"}

	// The stock binary's root is the project's policy: no chat-server.
	_, errs, code = ssms(append(draft, "--out", "stock.json")...)
	if code != 1 || !strings.Contains(errs, `product "chat-server" is not covered by the policy (it covers smp-client, smp-server)`) {
		t.Fatalf("stock binary: exit %d: %s", code, errs)
	}
	// The deployment's binary drafts under its own root, with no --policy.
	cmd := exec.Command(bin, append(draft, "--out", "release.json")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("deployment binary: %v\n%s", err, out)
	}
	env, err := readEnvelope("release.json")
	if err != nil {
		t.Fatal(err)
	}
	st, err := manifest.ParseRelease(env.Payload)
	if err != nil {
		t.Fatal(err)
	}
	penv, err := readEnvelope("policy.json")
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policies.Parse(penv)
	if err != nil {
		t.Fatal(err)
	}
	if st.Predicate.Policy != pol.Digest() {
		t.Fatalf("the draft names policy %s, not the compiled-in root %s", st.Predicate.Policy, pol.Digest())
	}
}
