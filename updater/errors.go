package updater

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrPending means a journal holds an unfinished install: Recover
	// must run first.
	ErrPending = errors.New("an install is pending")
	// ErrJournalCorrupt means the journal does not parse or is not one
	// this updater wrote. Nothing is changed: a person must look.
	ErrJournalCorrupt = errors.New("install journal corrupt")
	// ErrNotVerified means the state to commit does not record the
	// artifact as installed.
	ErrNotVerified = errors.New("artifact not verified")
	// ErrSameVersion means PATH already holds the artifact.
	ErrSameVersion = errors.New("already installed")
	// ErrNoInstall means Confirm or RollBack found no install waiting
	// for confirmation.
	ErrNoInstall = errors.New("no install waits for confirmation")
	// ErrUnexpectedFile means a file the journal names holds neither
	// digest it expects: something else changed it, and Recover stops.
	ErrUnexpectedFile = errors.New("unexpected file content")
)

// DigestError is a file whose digest is not one of those expected.
type DigestError struct {
	Path string
	What string   // what the file should be
	Want []string // sha256:<hex>; "" is no file
	Got  string   // "" is no file
}

func (e *DigestError) Error() string {
	got := e.Got
	if got == "" {
		got = "no file"
	}
	return fmt.Sprintf("%s: %s is %s, want %s", e.Path, e.What, got, strings.Join(e.Want, " or "))
}

func (e *DigestError) Unwrap() error { return ErrUnexpectedFile }
