package verifier

import (
	"fmt"
	"maps"

	"ssms.dev/ssms/internal/strictjson"
	"ssms.dev/ssms/manifest"
)

// StateVersion is the version of the state format this package writes.
const StateVersion = 1

// MaxStateSize bounds a state file.
const MaxStateSize = 1 << 20

// State is what a client remembers between verifications. It only moves
// forward: Verify returns the next state, and the caller stores it (as
// package statedir does, atomically and under a lock) only after every
// check passed.
type State struct {
	Version int `json:"version"`
	// Logs holds, per log origin, the last signed checkpoint accepted: a
	// later one must be proven to extend it.
	Logs map[string]string `json:"logs"`
	// Policy pins the first and the latest policy accepted: a bundle whose
	// chain is shorter or holds other policies at those versions is refused.
	Policy *PolicyPin `json:"policy,omitempty"`
	// Products holds, per product, what was installed.
	Products map[string]*Installed `json:"products"`
}

// PolicyPin is the first and latest policy a client accepted.
type PolicyPin struct {
	First  PolicyRef `json:"first"`
	Latest PolicyRef `json:"latest"`
}

// PolicyRef names one policy version by the digest of its payload.
type PolicyRef struct {
	Version uint64 `json:"version"`
	Digest  string `json:"digest"` // sha256:<hex>
}

// Installed is the release of a product a client installed.
type Installed struct {
	Version      string             `json:"version"`
	Sequence     uint64             `json:"sequence"`
	Artifacts    []manifest.Subject `json:"artifacts"`
	Bundle       string             `json:"bundle"` // sha256:<hex> of the bundle file
	Policy       PolicyRef          `json:"policy"` // in force at install: the self-check uses it
	VisibleSince string             `json:"visibleSince"`
	Installed    string             `json:"installed"`
}

// NewState is the state of a client that has verified nothing yet.
func NewState() *State {
	return &State{Version: StateVersion, Logs: map[string]string{}, Products: map[string]*Installed{}}
}

// ParseState decodes a state file. Any problem is ErrStateCorrupt, so a
// file cut short by a power failure reads as what it is, never as an
// attack.
func ParseState(data []byte) (*State, error) {
	var s State
	if err := strictjson.Decode(data, &s, MaxStateSize); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStateCorrupt, err)
	}
	if s.Version != StateVersion {
		return nil, fmt.Errorf("%w: version %d; this verifier reads version %d", ErrStateCorrupt, s.Version, StateVersion)
	}
	if s.Logs == nil || s.Products == nil {
		return nil, fmt.Errorf("%w: logs and products are objects, {} when empty", ErrStateCorrupt)
	}
	for name, in := range s.Products {
		if in == nil || manifest.CheckProduct(name) != nil {
			return nil, fmt.Errorf("%w: products: %q", ErrStateCorrupt, name)
		}
	}
	return &s, nil
}

// Marshal encodes s.
func (s *State) Marshal() ([]byte, error) {
	b, err := strictjson.Marshal(s)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// clone copies s deeply enough that changing the copy's maps and records
// leaves s as it was.
func (s *State) clone() *State {
	c := *s
	c.Logs = maps.Clone(s.Logs)
	c.Products = map[string]*Installed{}
	for k, v := range s.Products {
		in := *v
		c.Products[k] = &in
	}
	if s.Policy != nil {
		pin := *s.Policy
		c.Policy = &pin
	}
	return &c
}
