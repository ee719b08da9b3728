package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"ssms.dev/ssms/smp"
)

// DialTimeout bounds one attempt to connect (TCP and TLS handshake): a
// server that does not answer at all (a firewall dropping packets, an
// address that routes nowhere) would otherwise hold it for minutes.
const DialTimeout = 5 * time.Second

// DefaultConnectWait is how long Session.Conn waits for a connection to
// a server that is down before it gives up with an *UnreachableError.
const DefaultConnectWait = 5 * time.Second

// UnreachableError means no connection to the server could be made:
// nothing was sent to it.
type UnreachableError struct {
	Addr smp.Address
	Err  error // the last attempt's failure
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach %s: %s", hostPort(e.Addr), reason(e.Err))
}

func (e *UnreachableError) Unwrap() error { return e.Err }

func hostPort(a smp.Address) string { return net.JoinHostPort(a.Host, fmt.Sprint(a.Port)) }

// reason is err without what the message says already (the dial, the
// address): "connection refused", "no answer within 5s", "lookup
// example.invalid: no such host".
func reason(err error) string {
	var op *net.OpError
	var sys *os.SyscallError
	var dns *net.DNSError
	switch {
	case err == nil:
		return "no answer"
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Sprintf("no answer within %v", DialTimeout)
	case errors.As(err, &dns):
		return dns.Error()
	case errors.As(err, &sys):
		return sys.Err.Error()
	case errors.As(err, &op):
		return op.Err.Error()
	}
	return err.Error()
}

// dialError is what Dial returns for err: the server's identity failing
// the pin as is, anything else as unreachable.
func dialError(addr smp.Address, err error) error {
	if errors.Is(err, smp.ErrFingerprint) {
		return fmt.Errorf("smp: connecting to %s: %w", addr, err)
	}
	return &UnreachableError{Addr: addr, Err: err}
}
