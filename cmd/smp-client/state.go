package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"ssms.dev/ssms/smp"
)

// prepareState checks the state file before it is opened: only the
// commands that add a contact (invite, join) may start a new one; the
// others, on a path with no state, would show an empty one and hide a
// mistyped --state.
func (o *options) prepareState() error {
	if o.create {
		return os.MkdirAll(filepath.Dir(o.state), 0o700)
	}
	if _, err := os.Stat(o.state); errors.Is(err, os.ErrNotExist) {
		return withHint(fmt.Errorf("%s: no state file here", o.state),
			"smp-client invite or join starts one; --state or SMP_CLIENT_STATE names another")
	}
	return nil
}

// withNewState is o for a command that may start a new state (invite,
// join): its withAgent creates the state file if there is none.
func (o *options) withNewState() *options {
	n := *o
	n.create = true
	return &n
}

// onRetry tells of a failed attempt to reach a server, and when the next
// one is: listen and chat keep trying, and the others for a few seconds.
func (o *options) onRetry(server smp.Address, err error, in time.Duration) {
	fmt.Fprintf(o.retries, "smp-client: %v; trying again in %v\n", err, in.Round(100*time.Millisecond))
}
