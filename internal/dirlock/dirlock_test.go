package dirlock

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"
)

func TestSecondInstanceRefused(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	// flock locks are per open file description, so a second Acquire in
	// this process conflicts exactly as another process would.
	_, err = Acquire(dir)
	var inUse *InUseError
	if !errors.As(err, &inUse) || !errors.Is(err, ErrInUse) {
		t.Fatalf("second Acquire: err = %v, want an InUseError", err)
	}
	if want := fmt.Sprintf("%s is in use by process %d", dir, os.Getpid()); err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	l2.Release()
}

// TestLockDiesWithProcess: a killed owner leaves the file but not the lock.
func TestLockDiesWithProcess(t *testing.T) {
	if os.Getenv("DIRLOCK_CHILD") != "" {
		if _, err := Acquire(os.Getenv("DIRLOCK_CHILD")); err != nil {
			os.Exit(3)
		}
		fmt.Println("locked")
		select {}
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockDiesWithProcess$")
	cmd.Env = append(os.Environ(), "DIRLOCK_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 7)
	if _, err := out.Read(buf); err != nil || string(buf) != "locked\n" {
		t.Fatalf("child: %q, %v", buf, err)
	}
	_, err = Acquire(dir)
	var inUse *InUseError
	if !errors.As(err, &inUse) || inUse.PID != cmd.Process.Pid {
		t.Fatalf("while the child holds it: err = %v, want in use by %d", err, cmd.Process.Pid)
	}
	cmd.Process.Kill()
	cmd.Wait()
	l, err := Acquire(dir)
	if err != nil {
		t.Fatalf("after kill -9: %v", err)
	}
	l.Release()
}
