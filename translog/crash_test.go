package translog

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

const crashServerEnv = "SSMS_TRANSLOG_CRASH_SERVER"

// TestMain lets the test binary run as a log server for TestKill9.
func TestMain(m *testing.M) {
	if dir := os.Getenv(crashServerEnv); dir != "" {
		os.Exit(runCrashServer(dir))
	}
	os.Exit(m.Run())
}

func runCrashServer(dir string) int {
	s, err := Open(filepath.Join(dir, "log"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	seq := NewSequencer(s, DefaultMaxPending, DefaultMaxBatch)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 1
	}
	os.WriteFile(filepath.Join(dir, "addr.tmp"), []byte(ln.Addr().String()), 0o644)
	os.Rename(filepath.Join(dir, "addr.tmp"), filepath.Join(dir, "addr"))
	http.Serve(ln, NewServer(s, seq, AdmitFunc(func([]byte) error { return nil })).Handler())
	return 0
}

type acked struct {
	index int64
	entry []byte
}

// TestKill9 kills a log server with SIGKILL at random moments while clients
// append, restarts it, and checks that no acknowledged entry was lost and
// that every checkpoint any client saw is consistent with the final tree.
func TestKill9(t *testing.T) {
	rounds := 20
	if testing.Short() {
		rounds = 5
	}
	dir := t.TempDir()
	vkey, err := Init(filepath.Join(dir, "log"), "crash.test")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var acks []acked
	seen := map[int64]tlog.Hash{} // size → root, from every checkpoint a client saw
	record := func(cp *SignedCheckpoint) {
		mu.Lock()
		defer mu.Unlock()
		if h, ok := seen[cp.Size]; ok && h != cp.Hash {
			t.Errorf("two roots for size %d: %x and %x", cp.Size, h, cp.Hash)
		}
		seen[cp.Size] = cp.Hash
	}
	for round := range rounds {
		c, stop := startCrashServer(t, dir, vkey)
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ctx.Err() == nil; i++ {
					e := []byte(fmt.Sprintf("round %d writer %d entry %d", round, w, i))
					p, cp, err := c.Add(ctx, e)
					if err != nil {
						return // killed mid-request: not acknowledged
					}
					record(cp)
					mu.Lock()
					acks = append(acks, acked{p.Index, e})
					mu.Unlock()
				}
			}()
		}
		time.Sleep(time.Duration(20+rand.IntN(200)) * time.Millisecond)
		stop() // SIGKILL
		cancel()
		wg.Wait()
	}
	c, stop := startCrashServer(t, dir, vkey)
	defer stop()
	ctx := context.Background()
	final, err := c.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(acks) < rounds {
		t.Fatalf("only %d entries acknowledged in %d rounds: the test did not exercise the log", len(acks), rounds)
	}
	entries, err := c.Entries(ctx, 0, final.Size, final.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range acks {
		if a.index >= final.Size || string(entries[a.index]) != string(a.entry) {
			t.Fatalf("acknowledged entry %d (%q) lost after kill -9", a.index, a.entry)
		}
	}
	for size, root := range seen {
		if err := c.CheckConsistency(ctx, Checkpoint{Origin: final.Origin, Size: size, Hash: root}, final.Checkpoint); err != nil {
			t.Fatalf("checkpoint of size %d seen before a crash: %v", size, err)
		}
	}
	t.Logf("%d rounds, %d acknowledged entries, %d checkpoints seen, final size %d", rounds, len(acks), len(seen), final.Size)
}

// startCrashServer starts the test binary as a log server and returns a
// client for it and a function that kills it with SIGKILL.
func startCrashServer(t *testing.T, dir, vkey string) (*Client, func()) {
	t.Helper()
	os.Remove(filepath.Join(dir, "addr"))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashServerEnv+"="+dir)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	kill := func() {
		cmd.Process.Kill()
		cmd.Wait()
	}
	var addr []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		var err error
		if addr, err = os.ReadFile(filepath.Join(dir, "addr")); err == nil {
			break
		} else if !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	if addr == nil {
		kill()
		t.Fatal("log server did not start")
	}
	c, err := NewClient("http://"+string(addr), vkey)
	if err != nil {
		t.Fatal(err)
	}
	c.HTTP = &http.Client{Timeout: 10 * time.Second}
	return c, kill
}
