package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// shell runs a program of the demo (not ssms) in the working directory,
// echoing it and its output like the ssms steps, and returns its stdout.
func (s *script) shell(wantOK bool, env []string, name string, args ...string) string {
	if s.err != nil {
		return ""
	}
	fmt.Fprintf(s.out, "$ %s%s %s\n", envPrefix(env), name, strings.Join(args, " "))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	s.indent(stdout.String() + stderr.String())
	switch {
	case wantOK && err != nil:
		s.err = fmt.Errorf("quickstart: %s %s: %w", name, strings.Join(args, " "), err)
	case !wantOK && err == nil:
		s.err = fmt.Errorf("quickstart: %s %s succeeded, but must be refused", name, strings.Join(args, " "))
	case !wantOK:
		fmt.Fprintln(s.out, "    (refused, as it must be)")
	}
	return stdout.String()
}

func envPrefix(env []string) string {
	var b strings.Builder
	for _, e := range env {
		if strings.Contains(e, "_PASSWORD=") {
			k, _, _ := strings.Cut(e, "=")
			e = k + "=…"
		}
		b.WriteString(e + " ")
	}
	return b.String()
}

func (s *script) indent(text string) {
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if line != "" {
			fmt.Fprintf(s.out, "    %s\n", line)
		}
	}
}

// smpServer starts the installed smp-server, which checks itself against
// the pinned policy before it listens, and returns its address and the
// function that stops it.
func (s *script) smpServer() (string, func()) {
	none := func() {}
	if s.err != nil {
		return "", none
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.err = err
		return "", none
	}
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	s.shell(true, nil, "bin/smp-server", "--version", "--policy", "policy.json")
	addr := strings.TrimSpace(s.shell(true, nil, "bin/smp-server", "init", "--dir", "smp-data", "--host", "127.0.0.1", "--port", port))
	if s.err != nil {
		return "", none
	}
	args := []string{"start", "--dir", "smp-data", "--addr", "127.0.0.1:" + port, "--policy", "policy.json"}
	fmt.Fprintf(s.out, "$ bin/smp-server %s &\n", strings.Join(args, " "))
	cmd := exec.Command("bin/smp-server", args...)
	var logs serverLog
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		s.err = err
		return "", none
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stop := func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	// Ready once it says so: it says it right after it listens, and the
	// line belongs in what the quickstart shows.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if strings.Contains(logs.String(), " listening on ") {
			break
		}
		select {
		case err := <-done:
			s.indent(logs.String())
			s.err = fmt.Errorf("quickstart: smp-server stopped: %v", err)
			done <- err
			return "", none
		default:
		}
		if time.Now().After(deadline) {
			stop()
			s.indent(logs.String())
			s.err = errors.New("quickstart: smp-server did not listen within 15 s")
			return "", none
		}
	}
	s.indent(logs.String())
	return addr, stop
}

// serverLog is a background server's output, written by the process and
// read by the quickstart while it runs.
type serverLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *serverLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *serverLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// smpMessage has alice invite bob through the server at addr, both
// connect, and alice send bob a message, with a client built from the
// same source (a development build, so --allow-unverified).
func (s *script) smpMessage(addr string) {
	if s.err != nil {
		return
	}
	cache, _ := filepath.Abs("gocache")
	build := []string{"GOCACHE=" + cache, "CGO_ENABLED=0", "GOFLAGS=-mod=readonly"}
	fmt.Fprintf(s.out, "$ (cd smp-src && go build -trimpath -o ../bin/smp-client ./cmd/smp-client)    (a development build of the client)\n")
	cmd := exec.Command("go", "build", "-trimpath", "-o", "../bin/smp-client", "./cmd/smp-client")
	cmd.Dir, cmd.Env = "smp-src", append(os.Environ(), build...)
	if out, err := cmd.CombinedOutput(); err != nil {
		s.err = fmt.Errorf("quickstart: building smp-client: %v\n%s", err, out)
		return
	}
	alice, bob := []string{"SMP_CLIENT_PASSWORD=alice-" + randomWord()}, []string{"SMP_CLIENT_PASSWORD=bob-" + randomWord()}
	client := func(env []string, args ...string) string {
		return s.shell(true, env, "bin/smp-client", append([]string{"--allow-unverified"}, args...)...)
	}
	invitation := client(alice, "--state", "alice.state", "invite", "bob", "--server", addr)
	var uri string
	for _, line := range strings.Split(invitation, "\n") {
		if strings.HasPrefix(line, "smp://") {
			uri = line
		}
	}
	if s.err == nil && uri == "" {
		s.err = errors.New("quickstart: smp-client invite printed no invitation URI")
		return
	}
	client(bob, "--state", "bob.state", "join", "alice", uri)
	if s.err != nil {
		return
	}
	// Both run until the handshake is done: alice in the background.
	fmt.Fprintf(s.out, "$ %sbin/smp-client --allow-unverified --state alice.state listen --until-connected bob --for 30s &\n", envPrefix(alice))
	bg := exec.Command("bin/smp-client", "--allow-unverified", "--state", "alice.state", "listen", "--until-connected", "bob", "--for", "30s")
	bg.Env = append(os.Environ(), alice...)
	var bgOut bytes.Buffer
	bg.Stdout, bg.Stderr = &bgOut, &bgOut
	if err := bg.Start(); err != nil {
		s.err = err
		return
	}
	client(bob, "--state", "bob.state", "listen", "--until-connected", "alice", "--for", "30s")
	if err := bg.Wait(); err != nil && s.err == nil {
		s.err = fmt.Errorf("quickstart: alice's listen: %v\n%s", err, bgOut.String())
	}
	s.indent(bgOut.String())
	client(alice, "--state", "alice.state", "send", "bob", "hello bob, through a server that verified itself")
	client(bob, "--state", "bob.state", "listen", "--for", "2s")
}

func randomWord() string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "passphrase"
	}
	return fmt.Sprintf("%x", b)
}
