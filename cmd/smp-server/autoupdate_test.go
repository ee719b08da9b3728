package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"ssms.dev/ssms/internal/releasetest"
	"ssms.dev/ssms/internal/updatetest"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/updater/mirror"
)

// TestAutoUpdateUnderTraffic runs real smp-server binaries that embed the
// test project's policy, as release builds embed the project's:
//
//  1. a development build installs 1.0.0 from the mirror with
//     `smp-server update` (after --check says it is the newest), on two
//     machines; the second later updates itself to 2.0.0 by hand;
//  2. 1.0.0 serves with --auto-update 1s and --persist-messages while a
//     client creates queues and sends messages without pause;
//  3. 2.0.0 is published: the server installs it, stops as on SIGTERM,
//     execs it (same process), and 2.0.0's first start confirms it;
//  4. 3.0.0 is published, a build that pins another policy (the
//     project's), so its self-check fails: it is rolled back, 2.0.0
//     restarts, serves on, and does not install 3.0.0 again;
//  5. a tampered 4.0.0 is refused, in one line and a failure report;
//  6. every queue is still there and every message sent before, during
//     and after the restarts is received.
func TestAutoUpdateUnderTraffic(t *testing.T) {
	start := time.Now()
	p := updatetest.New(t, "smp-server")
	dir := t.TempDir()
	bins := buildPinned(t, dir, p.Policy)
	t.Logf("built 3 binaries in %v", time.Since(start).Round(time.Millisecond))
	p.Publish("1.0.0", 1, bins["1.0.0"])

	// 1. Install 1.0.0 with the development build's update command.
	path := filepath.Join(dir, "site", "bin", "smp-server")
	must(t, os.MkdirAll(filepath.Dir(path), 0o755))
	dev := filepath.Join(dir, "dev-smp-server")
	must(t, os.WriteFile(dev, bins["1.0.0"], 0o755))
	out := runOK(t, dev, "update", "--install", path, "--mirror", p.Mirror, "--check")
	if out != "smp-server 1.0.0 is in the log (entry 1); installed: nothing\n" {
		t.Fatalf("update --check:\n%s", out)
	}
	out = runOK(t, dev, "update", "--install", path, "--mirror", p.Mirror)
	if !strings.HasPrefix(out, "installed smp-server 1.0.0 (was: nothing) from "+p.Mirror+"\n") {
		t.Fatalf("update:\n%s", out)
	}
	if v := runOK(t, path, "--version"); !strings.Contains(v, "smp-server 1.0.0\n") || !strings.Contains(v, "verified: release 1.0.0 of smp-server") {
		t.Fatalf("--version of the install:\n%s", v)
	}
	// A second machine, which updates itself by hand below.
	other := filepath.Join(dir, "other", "smp-server")
	must(t, os.MkdirAll(filepath.Dir(other), 0o755))
	runOK(t, dev, "update", "--install", other, "--mirror", p.Mirror)

	// 2. Serve 1.0.0 under traffic.
	port := freePort(t)
	srvDir := filepath.Join(dir, "srv")
	address := strings.TrimSpace(runOK(t, path, "init", "--dir", srvDir, "--host", "127.0.0.1", "--port", port))
	srv := startServer(t, path, "start", "--dir", srvDir, "--addr", "127.0.0.1:"+port, "--persist-messages",
		"--queue-messages", "100000", "--auto-update", "1s", "--mirror", p.Mirror)
	srv.wait(t, "listening on", 1)
	tr := newTraffic(t, address)
	tr.queues(3)
	tr.burst("before", 20)
	tr.keepSending()

	// 3. 2.0.0: installed, restarted into, confirmed.
	time.Sleep(300 * time.Millisecond)
	p.Publish("2.0.0", 2, bins["2.0.0"])
	srv.wait(t, "smp-server: auto-update: installed smp-server 2.0.0 (was: 1.0.0) from "+p.Mirror, 1)
	srv.wait(t, "smp-server: auto-update: restarting into "+path, 1)
	srv.wait(t, "smp-server: smp-server 2.0.0 passed its self-check: install confirmed", 1)
	srv.wait(t, "listening on", 2)
	t.Logf("restart into 2.0.0: %v from the decision to serving again", srv.at("listening on", 2).Sub(srv.at("smp-server: auto-update: restarting into", 1)).Round(time.Millisecond))
	if v := runOK(t, path, "--version"); !strings.Contains(v, "smp-server 2.0.0\n") || !strings.Contains(v, "verified: release 2.0.0") || strings.Contains(v, "waiting") {
		t.Fatalf("--version after the restart:\n%s", v)
	}
	tr.queues(1) // a queue made by 2.0.0
	// By hand, with every default: this executable, its state, its policy.
	out = runOK(t, other, "update", "--mirror", p.Mirror)
	if !strings.HasPrefix(out, "installed smp-server 2.0.0 (was: 1.0.0) from "+p.Mirror+"\n  signed by [alice bob], log entry 4, rebuilt by [r1 r2]\n") {
		t.Fatalf("update of the second machine:\n%s", out)
	}
	if v := runOK(t, other, "--version"); !strings.Contains(v, "smp-server 2.0.0\n") || !strings.Contains(v, "verified: release 2.0.0") {
		t.Fatalf("--version of the second machine:\n%s", v)
	}
	tr.burst("after-2.0.0", 20)

	// 4. 3.0.0 fails its self-check: rolled back, 2.0.0 serves on.
	p.Publish("3.0.0", 3, bins["3.0.0"])
	srv.wait(t, "smp-server: auto-update: installed smp-server 3.0.0 (was: 2.0.0)", 1)
	srv.wait(t, "smp-server: error: the update was rolled back: the new version failed its self-check", 1)
	srv.wait(t, "smp-server: restarting the previous version, "+path, 1)
	srv.wait(t, "listening on", 3)
	srv.wait(t, "smp-server: auto-update: smp-server 3.0.0 was installed at ", 1)
	if v := runOK(t, path, "--version"); !strings.Contains(v, "smp-server 2.0.0\n") || !strings.Contains(v, "verified: release 2.0.0") {
		t.Fatalf("--version after the roll-back:\n%s", v)
	}
	tr.burst("after-rollback", 20)

	// 5. A mirror serving other bytes for 4.0.0: refused in one line, a
	// failure report written, 2.0.0 serves on.
	p.Publish("4.0.0", 4, []byte("smp-server 4.0.0"))
	art, _ := mirror.ArtifactPath(manifest.DigestBytes([]byte("smp-server 4.0.0")))
	must(t, os.WriteFile(filepath.Join(p.Mirror, art), []byte("smp-server 6.6.6"), 0o644))
	srv.wait(t, "smp-server: auto-update: SECURITY ERROR (artifact check): every offer was refused: the last one: refused the update from mirror "+p.Mirror+": artifact does not match the release", 1)
	srv.wait(t, "; kept 2.0.0; failure report "+path+".ssms/reports/", 1)
	tr.burst("after-refusal", 20)
	tr.stop()
	if n := srv.count("listening on"); n != 3 {
		t.Fatalf("the server started %d times, want 3 (1.0.0, 2.0.0, 2.0.0 again):\n%s", n, srv.stderr())
	}
	if n := srv.count("smp-server 3.0.0 was installed at "); n != 1 {
		t.Fatalf("the skip of 3.0.0 was logged %d times, want once:\n%s", n, srv.stderr())
	}
	out = runOK(t, path, "update", "--check", "--json")
	var check struct{ Running, Newest string }
	if err := json.Unmarshal([]byte(out), &check); err != nil || check.Running != "2.0.0" || check.Newest != "4.0.0" {
		t.Fatalf("update --check --json: %v\n%s", err, out)
	}

	// 6. Nothing lost.
	tr.receiveAll()
	srv.stop(t)
	if testing.Verbose() {
		t.Logf("smp-server's stderr:\n%s", srv.stderr())
	}
	t.Logf("%d messages on %d queues all received; %d sends tried again on a new connection, the longest send took %v; whole test %v",
		tr.sent(), len(tr.qs), tr.retried, tr.longest.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}

// buildPinned builds smp-server 1.0.0 and 2.0.0 embedding policy as the
// project's (go build -overlay), and 3.0.0 embedding the real project
// policy, under which the test's releases do not verify.
func buildPinned(t *testing.T, dir string, policy []byte) map[string][]byte {
	embedded, err := filepath.Abs(filepath.Join("..", "..", "policies", "ssms.policy.json"))
	must(t, err)
	pol := filepath.Join(dir, "policy.json")
	must(t, os.WriteFile(pol, policy, 0o644))
	overlay := filepath.Join(dir, "overlay.json")
	b, err := json.Marshal(map[string]map[string]string{"Replace": {embedded: pol}})
	must(t, err)
	must(t, os.WriteFile(overlay, b, 0o644))
	out := map[string][]byte{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for _, v := range []string{"1.0.0", "2.0.0", "3.0.0"} {
		flags := []string{"-ldflags=-X main.version=" + v}
		if v != "3.0.0" {
			flags = append(flags, "-overlay="+overlay)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			bin := filepath.Join(dir, "build-"+v)
			if err := releasetest.Build(bin, "ssms.dev/ssms/cmd/smp-server", flags...); err != nil {
				errs <- err
				return
			}
			b, err := os.ReadFile(bin)
			mu.Lock()
			out[v] = b
			mu.Unlock()
			errs <- err
		}()
	}
	wg.Wait()
	for range 3 {
		must(t, <-errs)
	}
	return out
}

// runOK runs a binary with the environment of a machine that sets no
// policy or state of its own, and returns its stdout.
func runOK(t *testing.T, path string, args ...string) string {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), "SSMS_POLICY=", "SSMS_STATE=")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s%s", path, args, err, out, stderr.String())
	}
	return string(out)
}

// process is a running smp-server process and what it wrote to stderr.
type process struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	buf   strings.Builder
	lines []stamped
	news  chan struct{}
	done  chan error
}

func startServer(t *testing.T, path string, args ...string) *process {
	s := &process{cmd: exec.Command(path, args...), news: make(chan struct{}, 1), done: make(chan error, 1)}
	s.cmd.Env = append(os.Environ(), "SSMS_POLICY=", "SSMS_STATE=")
	pipe, err := s.cmd.StderrPipe()
	must(t, err)
	must(t, s.cmd.Start())
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			s.mu.Lock()
			s.buf.WriteString(sc.Text() + "\n")
			s.lines = append(s.lines, stamped{sc.Text(), time.Now()})
			s.mu.Unlock()
			select {
			case s.news <- struct{}{}:
			default:
			}
		}
		s.done <- s.cmd.Wait()
	}()
	t.Cleanup(func() { s.cmd.Process.Kill() })
	return s
}

func (s *process) stderr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// stamped is a line of stderr and when it came.
type stamped struct {
	text string
	at   time.Time
}

// at is when the nth line saying line came.
func (s *process) at(line string, n int) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.lines {
		if strings.Contains(l.text, line) {
			if n--; n == 0 {
				return l.at
			}
		}
	}
	return time.Time{}
}

func (s *process) count(line string) int { return strings.Count(s.stderr(), line) }

// wait waits until stderr says line n times.
func (s *process) wait(t *testing.T, line string, n int) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for s.count(line) < n {
		select {
		case <-s.news:
		case err := <-s.done:
			t.Fatalf("smp-server exited (%v) before saying %q %d times:\n%s", err, line, n, s.stderr())
		case <-deadline:
			t.Fatalf("smp-server did not say %q %d times in 20 s:\n%s", line, n, s.stderr())
		}
	}
}

// stop stops the server with SIGTERM: it exits 0, and it is the process
// started first, which exec replaced in place.
func (s *process) stop(t *testing.T) {
	t.Helper()
	must(t, s.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("smp-server exited with %v:\n%s", err, s.stderr())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("smp-server did not stop on SIGTERM:\n%s", s.stderr())
	}
}
