package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"ssms.dev/ssms/internal/sandbox"
	"ssms.dev/ssms/signer"
)

func quickstartCmd() *cobra.Command {
	var dir string
	var keep bool
	c := &cobra.Command{
		Use:   "quickstart",
		Short: "Run the whole release life cycle locally, showing each command",
		Long: `Run the release life cycle in a scratch directory, printing every ssms command
it runs and its output: three maintainers and two rebuilders create keys, the
project a transparency log and two witnesses; the maintainers write and sign
a 2-of-3 policy that also asks for 2 rebuilds; a maintainer builds a small Go
program from its git repository with its recipe, drafts the release, and two
maintainers sign it; it is verified and published to the log (log and
witnesses are served by this process on loopback ports), its cosigned
inclusion proof and the log's consistency are checked; both rebuilders
rebuild it from source, bit for bit, and log their attestations; a monitor
audits the log; a client gets one bundle of the release from the log and
verifies it offline with "ssms verify", remembering it in a state directory.
Along the way it shows that a single signature, a repeated signature, a
tampered artifact and a replayed update are refused, that a rebuilder will
not vouch for a tampered binary, and that a second, different release of the
same version raises the monitor's alarm. It needs git and go on PATH (the
rebuilds compile the demo program from scratch, some seconds each). Nothing
outside the directory is touched.`,
		Example: `  ssms quickstart
  ssms quickstart --dir /tmp/ssms-demo --keep`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if dir == "" {
				d, err := os.MkdirTemp("", "ssms-quickstart-")
				if err != nil {
					return err
				}
				dir = d
				if !keep {
					defer os.RemoveAll(d)
				}
			} else if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			return quickstart(c.OutOrStdout(), dir)
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "directory to work in (default: a temporary one, removed afterwards)")
	c.Flags().BoolVar(&keep, "keep", false, "keep the temporary directory")
	return c
}

// quickstart runs the life cycle in dir. It changes the working directory
// and SSMS_PASSWORD for its duration, so the printed commands are exactly
// what a user would type there.
func quickstart(out io.Writer, dir string) error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	if dir, err = filepath.Abs(dir); err != nil { // the demo's source URI names it
		return err
	}
	if err := os.Chdir(dir); err != nil {
		return err
	}
	defer os.Chdir(wd)
	pass := make([]byte, 16)
	rand.Read(pass)
	oldPass, hadPass := os.LookupEnv(signer.PassphraseEnv)
	os.Setenv(signer.PassphraseEnv, hex.EncodeToString(pass))
	defer func() {
		if hadPass {
			os.Setenv(signer.PassphraseEnv, oldPass)
		} else {
			os.Unsetenv(signer.PassphraseEnv)
		}
	}()

	// Temporary files (rebuild work directories) stay inside dir too.
	oldTmp, hadTmp := os.LookupEnv("TMPDIR")
	os.Setenv("TMPDIR", filepath.Join(dir, "tmp"))
	defer func() {
		if hadTmp {
			os.Setenv("TMPDIR", oldTmp)
		} else {
			os.Unsetenv("TMPDIR")
		}
	}()
	if err := os.MkdirAll("tmp", 0o700); err != nil {
		return err
	}

	fmt.Fprintf(out, "ssms quickstart: the release life cycle, locally, in %s\n", dir)
	fmt.Fprintf(out, "(keys are encrypted with a random passphrase held in %s for this run)\n", signer.PassphraseEnv)
	commit, err := demoSource(out, filepath.Join(dir, "demo-app-src"))
	if err != nil {
		return err
	}
	sourceURI := "file://" + filepath.ToSlash(filepath.Join(dir, "demo-app-src"))
	// The log listens on a free loopback port, chosen now so the policy can name it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	logURL := "http://" + ln.Addr().String()
	q := &script{out: out}
	// The demo recipe is ours, so it may build unsandboxed where bwrap is missing.
	var sandboxArg []string
	if err := sandbox.Available(); err != nil {
		sandboxArg = []string{"--no-sandbox"}
		fmt.Fprintf(out, "(no sandbox here, so the builds below pass --no-sandbox: %v)\n", err)
	}
	q.section("1. Each maintainer creates a key pair")
	for _, name := range []string{"alice", "bob", "carol"} {
		q.ok("key", "generate", "--out", name)
	}
	q.section("   ... and so does each independent rebuilder")
	for _, name := range []string{"rebuilder-1", "rebuilder-2"} {
		q.ok("key", "generate", "--out", name)
	}
	q.section("2. The project creates its transparency log; two independent witnesses join")
	q.ok("log", "init", "--dir", "log", "--origin", "quickstart.example/log")
	logKey := q.readKey("log/log.vkey")
	q.ok("witness", "init", "--dir", "witness-1", "--name", "witness-1.quickstart.example")
	q.ok("witness", "init", "--dir", "witness-2", "--name", "witness-2.quickstart.example")
	w1Key, w2Key := q.readKey("witness-1/witness.vkey"), q.readKey("witness-2/witness.vkey")
	q.section("3. The maintainers write a 2-of-3 policy naming the log, its witnesses and 2 rebuilders, and sign it")
	q.ok("policy", "init", "--out", "policy.json", "--product", "demo-app",
		"--maintainer", "alice.pub", "--maintainer", "bob.pub", "--maintainer", "carol.pub", "--threshold", "2",
		"--rebuilder", "rebuilder-1.pub", "--rebuilder", "rebuilder-2.pub", "--rebuild-threshold", "2",
		"--log", logKey+"="+logURL, "--witness", w1Key, "--witness", w2Key, "--witness-quorum", "2")
	q.ok("policy", "sign", "policy.json", "--key", "alice.key")
	q.ok("policy", "sign", "policy.json", "--key", "bob.key")
	q.section("4. A maintainer builds demo-app from a clean clone of its commit with its recipe, and drafts the release")
	q.ok(append([]string{"build", "--recipe", "demo-app-src/recipe.json", "--artifact", "demo-app", "--source", "demo-app-src", "--commit", commit, "--out", "dist"}, sandboxArg...)...)
	q.tamper("dist/demo-app", "demo-app.tampered")
	q.ok("release", "draft", "--product", "demo-app", "--version", "1.0.0", "--sequence", "1",
		"--source-uri", sourceURI, "--source-commit", commit, "--recipe", "demo-app-src/recipe.json",
		"--artifact", "demo-app=dist/demo-app", "--policy", "policy.json", "--out", "release.json")
	q.section("5. Two maintainers sign it, each offline with their own key")
	q.ok("release", "sign", "release.json", "--key", "alice.key")
	q.fails("release", "verify", "release.json", "--policy", "policy.json", "--artifact", "demo-app=dist/demo-app")
	q.fails("release", "sign", "release.json", "--key", "alice.key")
	q.ok("release", "sign", "release.json", "--key", "bob.key")
	q.section("6. Anyone (CI, a user) checks the threshold and the artifact")
	q.ok("release", "verify", "release.json", "--policy", "policy.json", "--artifact", "demo-app=dist/demo-app")
	q.section("7. The policy, then the release, go into the log, whose checkpoints both witnesses cosign")
	stop := q.startServers(ln, logURL, logKey, []string{w1Key, w2Key})
	defer stop()
	q.ok("log", "checkpoint", "--log", logURL, "--vkey", logKey, "--state", "seen.checkpoint")
	q.ok("policy", "publish", "policy.json", "--log", logURL, "--out", "policy.proof")
	q.ok("release", "publish", "release.json", "--log", logURL, "--policy", "policy.json", "--out", "release.proof")
	q.ok("log", "verify-proof", "release.proof", "--entry", "release.json", "--policy", "policy.json")
	q.ok("log", "checkpoint", "--log", logURL, "--vkey", logKey, "--state", "seen.checkpoint")
	q.section("8. Each rebuilder rebuilds the release from its source and recipe, bit for bit, and logs an attestation")
	q.ok(append([]string{"rebuild", "release.json", "--key", "rebuilder-1.key", "--policy", "policy.json", "--log", logURL}, sandboxArg...)...)
	q.ok(append([]string{"rebuild", "release.json", "--key", "rebuilder-2.key", "--policy", "policy.json", "--log", logURL}, sandboxArg...)...)
	q.section("9. An auditor's monitor checks every checkpoint and entry, and that the release has its rebuilds")
	q.ok("monitor", "--log", logURL, "--policy", "policy.json", "--state", "monitor", "--once")
	q.section("10. A user's client gets one bundle of the release and decides offline, before it runs, remembering what it installed")
	q.ok("bundle", "--log", logURL, "--product", "demo-app", "--version", "1.0.0", "--policy", "policy.json",
		"--first", "release.proof", "--out", "demo-app-1.0.0.bundle", "--index", "bundle-index")
	q.ok("verify", "--policy", "policy.json", "--bundle", "demo-app-1.0.0.bundle", "--artifact", "demo-app=dist/demo-app", "--product", "demo-app", "--state", "client")
	q.ok("verify", "--policy", "policy.json", "--bundle", "demo-app-1.0.0.bundle", "--artifact", "demo-app=dist/demo-app", "--product", "demo-app", "--state", "client", "--mode", "installed")
	q.section("11. Attacks: a tampered artifact and a replayed update are refused; a second, different 1.0.0 (say, for one target) cannot hide")
	q.fails("release", "verify", "release.json", "--policy", "policy.json", "--artifact", "demo-app=demo-app.tampered")
	q.fails("verify", "--policy", "policy.json", "--bundle", "demo-app-1.0.0.bundle", "--artifact", "demo-app=demo-app.tampered", "--product", "demo-app", "--state", "client")
	q.fails("verify", "--policy", "policy.json", "--bundle", "demo-app-1.0.0.bundle", "--artifact", "demo-app=dist/demo-app", "--product", "demo-app", "--state", "client")
	q.ok("release", "draft", "--product", "demo-app", "--version", "1.0.0", "--sequence", "2",
		"--source-uri", sourceURI, "--source-commit", commit, "--recipe", "demo-app-src/recipe.json",
		"--artifact", "demo-app=demo-app.tampered", "--policy", "policy.json", "--out", "targeted.json")
	q.ok("release", "sign", "targeted.json", "--key", "alice.key")
	q.ok("release", "sign", "targeted.json", "--key", "bob.key")
	q.ok("release", "publish", "targeted.json", "--log", logURL, "--policy", "policy.json", "--out", "targeted.proof")
	q.fails(append([]string{"rebuild", "targeted.json", "--key", "rebuilder-1.key", "--policy", "policy.json", "--artifact", "demo-app=demo-app.tampered"}, sandboxArg...)...)
	q.alarm("monitor", "--log", logURL, "--policy", "policy.json", "--state", "monitor", "--once")
	if q.err != nil {
		return q.err
	}
	fmt.Fprintln(out, "\nquickstart: every step behaved as expected")
	return nil
}

// script runs ssms commands in-process, echoing them and their output, and
// remembers the first step that did not behave as expected.
type script struct {
	out io.Writer
	err error
}

func (s *script) section(title string) {
	if s.err == nil {
		fmt.Fprintf(s.out, "\n%s\n", title)
	}
}

func (s *script) ok(args ...string)    { s.step(true, "", args) }
func (s *script) fails(args ...string) { s.step(false, "refused, as it must be", args) }
func (s *script) alarm(args ...string) {
	s.step(false, "the monitor raised the alarm, as it must", args)
}

func (s *script) step(wantOK bool, why string, args []string) {
	if s.err != nil {
		return
	}
	fmt.Fprintf(s.out, "$ ssms %s\n", strings.Join(args, " "))
	var buf bytes.Buffer
	code := run(args, &buf, &buf)
	for _, line := range strings.Split(strings.TrimRight(buf.String(), "\n"), "\n") {
		fmt.Fprintf(s.out, "    %s\n", line)
	}
	switch {
	case wantOK && code != 0:
		s.err = fmt.Errorf("quickstart: step failed: ssms %s", strings.Join(args, " "))
	case !wantOK && code == 0:
		s.err = fmt.Errorf("quickstart: ssms %s should have been refused but succeeded", strings.Join(args, " "))
	case !wantOK:
		fmt.Fprintf(s.out, "    (%s)\n", why)
	}
}
