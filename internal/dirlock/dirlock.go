// Package dirlock gives a server exclusive ownership of its directory.
//
// Two log servers on one directory each append entries under the same
// indexes and sign two different roots for one size: a fork made by the
// operator, not an attacker. Every server that owns a directory (log,
// witness, SMP server, monitor and rebuild-follower state) takes this lock
// first and keeps it until it exits.
//
// The lock is flock(2) on DIR/.lock, so the kernel releases it when the
// process dies, kill -9 included: a stale lock file never blocks a restart.
// The file holds the owner's process ID, for the error a second instance
// prints.
package dirlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Name is the lock file's name inside the locked directory.
const Name = ".lock"

// ErrInUse reports a directory locked by another process.
var ErrInUse = errors.New("in use")

// InUseError names the directory and, when known, the owner's process ID.
type InUseError struct {
	Dir string
	PID int // 0 when the owner's ID could not be read
}

func (e *InUseError) Error() string {
	if e.PID == 0 {
		return fmt.Sprintf("%s is in use by another process", e.Dir)
	}
	return fmt.Sprintf("%s is in use by process %d", e.Dir, e.PID)
}

func (e *InUseError) Unwrap() error { return ErrInUse }

// Lock is a held directory lock.
type Lock struct{ f *os.File }

// Acquire locks dir, which must exist, without waiting: if another process
// holds the lock it returns an *InUseError at once.
func Acquire(dir string) (*Lock, error) {
	path := filepath.Join(dir, Name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &InUseError{Dir: dir, PID: readPID(path)}
		}
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	if err := writePID(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	return &Lock{f: f}, nil
}

// Release unlocks. The file stays: removing it would let a third process
// lock a new inode while a second still waits on the old one.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}

func readPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil || len(b) > 32 {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}
