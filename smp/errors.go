package smp

import (
	"errors"
	"fmt"
)

// ErrorType is an SMP error, as sent in "ERR type".
type ErrorType string

// SMP errors.
const (
	ErrUnknown    ErrorType = "UNKNOWN"
	ErrProhibited ErrorType = "PROHIBITED"
	ErrSize       ErrorType = "SIZE"
	ErrAuth       ErrorType = "AUTH"
	ErrInternal   ErrorType = "INTERNAL"
)

// SYNTAX error codes, as the specification defines them; it has no code 1.
const (
	SyntaxBadParameters  = 2
	SyntaxNoCredentials  = 3
	SyntaxHasCredentials = 4
	SyntaxNoConnID       = 5
	SyntaxBadBody        = 6
)

// Syntax returns the error "SYNTAX code".
func Syntax(code int) ErrorType { return ErrorType(fmt.Sprintf("SYNTAX %d", code)) }

// Error is an SMP error as a Go error. Err, if set, is the cause, for
// callers (never sent).
type Error struct {
	Type ErrorType
	Err  error
}

func (e *Error) Error() string { return "smp: ERR " + string(e.Type) }

func (e *Error) Unwrap() error { return e.Err }

// AsError extracts the SMP error type of err, or INTERNAL.
func AsError(err error) ErrorType {
	var e *Error
	if errors.As(err, &e) {
		return e.Type
	}
	return ErrInternal
}

func fail(t ErrorType) error { return &Error{Type: t} }
