// Package clierr is how the commands report failure: one line
// "PROG: error: …", then for a refusal that may mean an attack
// "PROG: SECURITY ERROR: …" saying what it may mean, and "PROG: hint: …"
// when there is advice to give.
package clierr

import (
	"errors"
	"fmt"
	"io"
)

// hinted is an error with advice for the user.
type hinted struct {
	err  error
	hint string
}

func (h *hinted) Error() string { return h.err.Error() }
func (h *hinted) Unwrap() error { return h.err }

// Hint attaches advice to err.
func Hint(err error, hint string) error { return &hinted{err, hint} }

// security is a refusal that may mean an attack, in the spirit of the go
// command's SECURITY ERROR: what it may mean, and what to do.
type security struct {
	err             error
	meaning, action string
}

func (s *security) Error() string { return s.err.Error() }
func (s *security) Unwrap() error { return s.err }

// Security marks err as a refusal that may mean an attack: meaning says
// what it may mean, action what to do (the hint, unless err carries a more
// specific one).
func Security(err error, meaning, action string) error { return &security{err, meaning, action} }

// Report prints err, what it may mean if it is a security refusal, and its
// hint if it has one, for program prog.
func Report(w io.Writer, prog string, err error) {
	fmt.Fprintf(w, "%s: error: %v\n", prog, err)
	var s *security
	if errors.As(err, &s) {
		fmt.Fprintf(w, "%s: SECURITY ERROR: %s\n", prog, s.meaning)
	}
	var h *hinted
	switch {
	case errors.As(err, &h):
		fmt.Fprintf(w, "%s: hint: %s\n", prog, h.hint)
	case s != nil:
		fmt.Fprintf(w, "%s: hint: %s\n", prog, s.action)
	}
}
