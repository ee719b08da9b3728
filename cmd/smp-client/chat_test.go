package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestChatInTmux drives two interactive chats in real terminals (tmux
// panes), typing on one side and reading the other side's screen.
func TestChatInTmux(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (./scripts/test installs it)")
	}
	bin := buildServer(t)
	out, err := exec.Command("go", "build", "-o", filepath.Join(bin, "smp-client"), ".").CombinedOutput()
	if err != nil {
		t.Fatalf("building smp-client: %v\n%s", err, out)
	}
	dir := t.TempDir()
	run := func(pass string, args ...string) string {
		t.Helper()
		cmd := exec.Command(filepath.Join(bin, args[0]), args[1:]...)
		cmd.Dir, cmd.Env = dir, append(os.Environ(), "SMP_CLIENT_PASSWORD="+pass)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	port := freePorts(t, 1)[0]
	addr := strings.TrimSpace(run("", "smp-server", "init", "--dir", "srv", "--host", "127.0.0.1", "--port", port))
	server := exec.Command(filepath.Join(bin, "smp-server"), "start", "--allow-unverified", "--dir", "srv", "--addr", "127.0.0.1:"+port)
	server.Dir = dir
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Process.Kill(); server.Wait() })
	time.Sleep(300 * time.Millisecond)

	inv := run("a", "smp-client", "--allow-unverified", "--state", "alice.state", "invite", "bob", "--server", addr)
	sc := bufio.NewScanner(strings.NewReader(inv))
	var uri string
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "smp://") {
			uri = sc.Text()
		}
	}
	run("b", "smp-client", "--allow-unverified", "--state", "bob.state", "join", "alice", uri)

	socket := fmt.Sprintf("ssms-chat-test-%d", os.Getpid())
	tmux := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("tmux", append([]string{"-L", socket}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	chat := func(pass, state, peer string) string {
		return fmt.Sprintf("cd %s && SMP_CLIENT_PASSWORD=%s %s --allow-unverified --state %s chat %s; sleep 30", dir, pass, filepath.Join(bin, "smp-client"), state, peer)
	}
	tmux("new-session", "-d", "-s", "chat", "-x", "150", "-y", "40", "-n", "alice", chat("a", "alice.state", "bob"))
	t.Cleanup(func() { exec.Command("tmux", "-L", socket, "kill-server").Run() })
	tmux("new-window", "-t", "chat", "-n", "bob", chat("b", "bob.state", "alice"))
	screen := func(win, want string) {
		t.Helper()
		var s string
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if s = tmux("capture-pane", "-p", "-t", "chat:"+win); strings.Contains(s, want) {
				return
			}
		}
		t.Fatalf("%s's screen lacks %q:\n%s", win, want, s)
	}
	screen("alice", "* connected with bob")
	screen("bob", "* connected with alice")
	tmux("send-keys", "-t", "chat:alice", "hello from alice", "Enter")
	screen("bob", "alice: hello from alice")
	tmux("send-keys", "-t", "chat:bob", "hi alice, bob here", "Enter")
	screen("alice", "bob: hi alice, bob here")
	tmux("send-keys", "-t", "chat:alice", "/quit", "Enter")
	tmux("send-keys", "-t", "chat:bob", "/quit", "Enter")
	// Both left cleanly: the states open again, in order.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		cmd := exec.Command(filepath.Join(bin, "smp-client"), "--state", "alice.state", "contacts")
		cmd.Dir, cmd.Env = dir, append(os.Environ(), "SMP_CLIENT_PASSWORD=a")
		if out, err := cmd.Output(); err == nil && strings.Contains(string(out), "bob\tconnected") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("alice's chat did not exit on /quit")
		}
	}
}
