package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"ssms.dev/ssms/internal/dirlock"
	"ssms.dev/ssms/translog"
)

// ownDir makes this process the only server of dir (log, witness, monitor
// or rebuild-follower state) until the lock is released or the process
// exits. Two servers on one directory would each write the same state: two
// logs on one directory fork the log. A second one fails with
// "DIR is in use by process N".
func ownDir(dir, hint string) (*dirlock.Lock, error) {
	l, err := dirlock.Acquire(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, withHint(fmt.Errorf("%s: no such directory", dir), hint)
	}
	return l, err
}

// ownLogKey is ownDir for a log directory, with the log's note key.
func ownLogKey(dir, hint string) (*dirlock.Lock, *translog.Key, error) {
	lock, err := ownDir(dir, hint)
	if err != nil {
		return nil, nil, err
	}
	key, err := translog.LoadKey(dir)
	if err != nil {
		lock.Release()
		return nil, nil, err
	}
	return lock, key, nil
}

// ownStateDir is ownDir for a state directory, created if missing.
func ownStateDir(dir string) (*dirlock.Lock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return dirlock.Acquire(dir)
}
