package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
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
	var dir, source string
	var keep bool
	c := &cobra.Command{
		Use:   "quickstart",
		Short: "Run the whole release life cycle locally, showing each command",
		Long: `Run the release life cycle in a scratch directory, printing every command it
runs and its output, each step explained:

  keys for three maintainers and two rebuilders; a transparency log and two
  witnesses (served by this process on loopback ports); a 2-of-3 policy that
  also asks for 2 rebuilds; smp-server, built from this repository's source
  (copied into a git repository) with its recipe; the release drafted, signed
  by two maintainers, verified, published to the log, rebuilt bit for bit by
  both rebuilders; a monitor auditing the log; a bundle for clients; a mirror;
  "ssms update" installing the verified smp-server; the server checking itself
  before it listens and carrying a message between two smp-clients.

Along the way it shows refused: a single signature, a repeated signature, a
tampered artifact (from a client and from a hostile mirror), a replayed
update, a tampered server binary that will not start, a rebuilder asked to
vouch for a tampered binary, a second release of the same version (the
monitor's alarm), and a mirror that withholds the newest release (a freeze).

It needs git and go on PATH and a clone of the ssms repository (the working
directory, or --source). Its three builds of smp-server share one build
cache (independent rebuilders never would) so that it takes about a minute
on two cores. Nothing outside the directory is touched; --keep (or --dir)
keeps it, and the end of the run says where it is and what to try next.`,
		Example: `  ssms quickstart
  ssms quickstart --keep
  ssms quickstart --dir /tmp/ssms-demo --source ~/src/ssms`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			keep = keep || dir != ""
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
			if source == "" {
				if source = repoRoot(); source == "" {
					return withHint(errors.New("quickstart releases smp-server from its source, and this is not a clone of the ssms repository"),
						"run it in a clone (go run ./cmd/ssms quickstart), or give one with --source DIR")
				}
			}
			return quickstart(c.OutOrStdout(), dir, source, keep)
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "directory to work in (default: a temporary one, removed afterwards)")
	c.Flags().BoolVar(&keep, "keep", false, "keep the temporary directory")
	c.Flags().StringVar(&source, "source", "", "the ssms repository to release smp-server from (default: the one the working directory is in)")
	return c
}

// quickstart runs the life cycle in dir. It changes the working directory
// and SSMS_PASSWORD for its duration, so the printed commands are exactly
// what a user would type there.
func quickstart(out io.Writer, dir, source string, keep bool) error {
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
	commit, err := smpSource(out, source, filepath.Join(dir, "smp-src"))
	if err != nil {
		return err
	}
	sourceURI := "file://" + filepath.ToSlash(filepath.Join(dir, "smp-src"))
	// The log listens on a free loopback port, chosen now so the policy can name it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	logURL := "http://" + ln.Addr().String()
	q := &script{out: out}
	// The demo recipe is ours, so it may build unsandboxed where bwrap is missing.
	// One build cache for the three builds of the demo, so that it takes
	// seconds, not minutes; independent rebuilders never share one.
	sandboxArg := []string{"--gocache", "gocache"}
	if err := sandbox.Available(); err != nil {
		sandboxArg = append(sandboxArg, "--no-sandbox")
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
	q.ok("policy", "init", "--out", "policy.json", "--product", "smp-server",
		"--maintainer", "alice.pub", "--maintainer", "bob.pub", "--maintainer", "carol.pub", "--threshold", "2",
		"--rebuilder", "rebuilder-1.pub", "--rebuilder", "rebuilder-2.pub", "--rebuild-threshold", "2",
		"--log", logKey+"="+logURL, "--witness", w1Key, "--witness", w2Key, "--witness-quorum", "2")
	q.ok("policy", "sign", "policy.json", "--key", "alice.key")
	q.ok("policy", "sign", "policy.json", "--key", "bob.key")
	q.section("4. A maintainer builds smp-server from a clean clone of its commit with its recipe, and drafts the release")
	q.ok(append([]string{"build", "--recipe", "smp-src/recipe.json", "--artifact", "smp-server", "--source", "smp-src", "--commit", commit, "--out", "dist"}, sandboxArg...)...)
	q.tamper("dist/smp-server", "smp-server.tampered")
	q.ok("release", "draft", "--product", "smp-server", "--version", "1.0.0", "--sequence", "1",
		"--source-uri", sourceURI, "--source-commit", commit, "--recipe", "smp-src/recipe.json",
		"--artifact", "smp-server=dist/smp-server", "--policy", "policy.json", "--out", "release.json")
	q.section("5. Two maintainers sign it, each offline with their own key")
	q.ok("release", "sign", "release.json", "--key", "alice.key")
	q.fails("release", "verify", "release.json", "--policy", "policy.json", "--artifact", "smp-server=dist/smp-server")
	q.fails("release", "sign", "release.json", "--key", "alice.key")
	q.ok("release", "sign", "release.json", "--key", "bob.key")
	q.section("6. Anyone (CI, a user) checks the threshold and the artifact")
	q.ok("release", "verify", "release.json", "--policy", "policy.json", "--artifact", "smp-server=dist/smp-server")
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
	q.ok("bundle", "--log", logURL, "--product", "smp-server", "--version", "1.0.0", "--policy", "policy.json",
		"--first", "release.proof", "--out", "smp-server-1.0.0.bundle", "--index", "bundle-index")
	q.ok("verify", "--policy", "policy.json", "--bundle", "smp-server-1.0.0.bundle", "--artifact", "smp-server=dist/smp-server", "--product", "smp-server", "--state", "client")
	q.ok("verify", "--policy", "policy.json", "--bundle", "smp-server-1.0.0.bundle", "--artifact", "smp-server=dist/smp-server", "--product", "smp-server", "--state", "client", "--mode", "installed")
	q.section("11. The release goes on a mirror, which nobody has to trust; the updater installs it: the log says what is newest, the verifier decides")
	q.ok("mirror", "add", "--dir", "mirror", "--policy", "policy.json", "smp-server-1.0.0.bundle", "smp-server=dist/smp-server")
	q.ok("update", "--policy", "policy.json", "--mirror", "mirror", "--product", "smp-server", "--install", "bin/smp-server")
	q.ok("update", "--policy", "policy.json", "--mirror", "mirror", "--product", "smp-server", "--install", "bin/smp-server", "--check")
	q.section("12. The installed smp-server checks itself against the pinned policy before it listens, and carries a message")
	addr, stopSMP := q.smpServer()
	defer stopSMP()
	q.smpMessage(addr)
	q.shell(false, nil, "./smp-server.tampered", "start", "--dir", "smp-data", "--addr", "127.0.0.1:0", "--policy", "policy.json", "--state", "bin/smp-server.ssms")
	q.section("13. Attacks: a tampered artifact, from a client or a hostile mirror, and a replayed update are refused; a second, different 1.0.0 (say, for one target) cannot hide")
	q.evilMirror("mirror", "evil-mirror", "dist/smp-server", "smp-server.tampered")
	q.fails("update", "--policy", "policy.json", "--mirror", "evil-mirror", "--product", "smp-server", "--install", "other-machine/smp-server")
	q.fails("release", "verify", "release.json", "--policy", "policy.json", "--artifact", "smp-server=smp-server.tampered")
	q.fails("verify", "--policy", "policy.json", "--bundle", "smp-server-1.0.0.bundle", "--artifact", "smp-server=smp-server.tampered", "--product", "smp-server", "--state", "client")
	q.fails("verify", "--policy", "policy.json", "--bundle", "smp-server-1.0.0.bundle", "--artifact", "smp-server=dist/smp-server", "--product", "smp-server", "--state", "client")
	q.ok("release", "draft", "--product", "smp-server", "--version", "1.0.0", "--sequence", "2",
		"--source-uri", sourceURI, "--source-commit", commit, "--recipe", "smp-src/recipe.json",
		"--artifact", "smp-server=smp-server.tampered", "--policy", "policy.json", "--out", "targeted.json")
	q.ok("release", "sign", "targeted.json", "--key", "alice.key")
	q.ok("release", "sign", "targeted.json", "--key", "bob.key")
	q.ok("release", "publish", "targeted.json", "--log", logURL, "--policy", "policy.json", "--out", "targeted.proof")
	q.fails(append([]string{"rebuild", "targeted.json", "--key", "rebuilder-1.key", "--policy", "policy.json", "--artifact", "smp-server=smp-server.tampered"}, sandboxArg...)...)
	q.alarm("monitor", "--log", logURL, "--policy", "policy.json", "--state", "monitor", "--once")
	q.section("14. A frozen mirror: the maintainers publish 1.1.0, the mirror never gets it; the updater learns from the log that it exists: a slow mirror at first, a freeze after --freeze-grace (24h; 0 here)")
	q.ok("release", "draft", "--product", "smp-server", "--version", "1.1.0", "--sequence", "3",
		"--source-uri", sourceURI, "--source-commit", commit, "--recipe", "smp-src/recipe.json",
		"--artifact", "smp-server=dist/smp-server", "--policy", "policy.json", "--out", "release-1.1.0.json")
	q.ok("release", "sign", "release-1.1.0.json", "--key", "alice.key")
	q.ok("release", "sign", "release-1.1.0.json", "--key", "carol.key")
	q.ok("release", "publish", "release-1.1.0.json", "--log", logURL, "--policy", "policy.json", "--out", "release-1.1.0.proof")
	q.ok("update", "--policy", "policy.json", "--mirror", "mirror", "--product", "smp-server", "--install", "bin/smp-server")
	q.fails("update", "--policy", "policy.json", "--mirror", "mirror", "--product", "smp-server", "--install", "bin/smp-server", "--freeze-grace", "0")
	if q.err != nil {
		return q.err
	}
	fmt.Fprintln(out, "\nquickstart: every step behaved as expected")
	if keep {
		fmt.Fprintf(out, "\nThe files are in %s (keys, policy, log, witnesses, mirror, bin/smp-server and its state in bin/smp-server.ssms).\n", dir)
		fmt.Fprintf(out, "The keys are encrypted with the passphrase %s: export %s=%s to use them.\n", os.Getenv(signer.PassphraseEnv), signer.PassphraseEnv, os.Getenv(signer.PassphraseEnv))
		fmt.Fprintf(out, `To look at the log in the explorer, in that directory:
  ssms log serve --dir log --addr %s --policy policy.json &
  ssms monitor --log %s --policy policy.json --state monitor --http 127.0.0.1:8090
and open http://127.0.0.1:8090/ (the witnesses are not running, so the checkpoints it shows grow old).
`, strings.TrimPrefix(logURL, "http://"), logURL)
	} else {
		fmt.Fprintf(out, "\nThe directory %s is removed now; run \"ssms quickstart --keep\" (or --dir DIR) to keep the files and look at them.\n", dir)
	}
	fmt.Fprintln(out, `What to try next:
  ssms COMMAND --help                  every command explains itself, with examples
  ssms policy show policy.json         who may sign what (in the kept directory)
  ssms update --help                   keep a program up to date from untrusted mirrors
  README.md and docs/                  running a log, a witness, a monitor and an SMP server for real`)
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
