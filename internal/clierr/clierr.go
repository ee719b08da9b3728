// Package clierr is how the commands report failure: one line
// "PROG: error: …", and "PROG: hint: …" when there is advice to give.
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

// Report prints err, and its hint if it has one, for program prog.
func Report(w io.Writer, prog string, err error) {
	fmt.Fprintf(w, "%s: error: %v\n", prog, err)
	var h *hinted
	if errors.As(err, &h) {
		fmt.Fprintf(w, "%s: hint: %s\n", prog, h.hint)
	}
}
