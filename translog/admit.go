package translog

import (
	"context"
	"crypto/sha256"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// Admitter decides which entries the log accepts (spam control) and which
// entries say the same thing, so that a copy does not grow the log.
type Admitter interface {
	// Admit checks an entry and returns its claim. It returns an error
	// wrapping ErrNotAdmitted to refuse, and any other error for a
	// malformed entry; the message is shown to the client. Unless the
	// Admitter is a [LoggedClaimer], the log also calls it on the entries
	// it holds, to index their claims: a logged entry that would not be
	// admitted now (logged under other rules or other policies) then
	// covers no submission.
	Admit(entry []byte) (Claim, error)
}

// LoggedClaimer is an Admitter that can say what an entry the log already
// holds claims, even one it would not admit now. The log indexes every
// entry it holds with it as it starts, so that what a logged entry covers
// does not shrink when the rules or the policies change: otherwise, once a
// rotation removes a key, anyone could strip that key's signature from
// logged envelopes and add every subset of the rest as new entries.
type LoggedClaimer interface {
	// LoggedClaim returns the claim of a logged entry: its subject and the
	// keys known now whose signatures on it verify, ignoring any other
	// signature. It returns false for an entry that claims nothing.
	LoggedClaim(entry []byte) (Claim, bool)
}

// Claim is what an entry vouches for: a subject (for SSMS, the envelope's
// payload type and payload) and the distinct keys whose signatures on it
// were verified, sorted.
//
// A submission is the same entry as a logged one when their subjects are
// equal and the logged entry's keys include all of the submission's: the
// log then answers with the logged entry's index, and nothing counts
// against a limit. So a replayed envelope, or one with its signatures
// reordered, re-signed (ECDSA and RSA-PSS signatures differ every time) or
// dropped, adds nothing.
//
// A new entry must add a signature: a key with no logged (or in-flight)
// signature on its subject. It is charged, for the per-key limit
// ([Server.KeyLimit]), to one of those new keys, the one with the most room
// left, so whoever holds one key spends only that key's allowance however
// they pair it with others' public signatures. An entry with no new key is
// admitted only as a merge that carries every key logged for its subject,
// free of charge; anything else is refused with ErrNotAdmitted, naming the
// logged keys, so that an honest submitter can merge them. A subject thus
// has at most twice as many entries as there are keys, and nobody can keep
// a release out by logging part of its signatures first: the full release
// adds signatures, or merges. An entry with no keys is not limited.
type Claim struct {
	Subject [32]byte
	Keys    []string
}

// covers tells whether c vouches for everything d does.
func (c *Claim) covers(d *Claim) bool {
	if c.Subject != d.Subject {
		return false
	}
	for _, k := range d.Keys {
		if _, ok := slices.BinarySearch(c.Keys, k); !ok {
			return false
		}
	}
	return true
}

// AdmitFunc adapts a function to Admitter: f admits, and an entry's claim
// is the hash of its bytes, with no keys (only exact copies are the same
// entry, and nothing is rate limited).
type AdmitFunc func(entry []byte) error

// Admit calls f; the claim's subject is the hash of entry.
func (f AdmitFunc) Admit(entry []byte) (Claim, error) {
	return Claim{Subject: sha256.Sum256(entry)}, f(entry)
}

// claims indexes the claims of the published entries and of the additions
// in flight. It is not stored: the log is the record, and the server
// rebuilds it as it starts by re-admitting every entry, a signature check
// per signature; additions wait until it is done. Measured on the shared
// 2-core machine: 20,000 entries with two Ed25519 signatures in about 6 s,
// about 200 bytes of memory per entry (BenchmarkAdmit in
// internal/admission times one entry).
type claims struct {
	mu      sync.Mutex
	scanned int64 // entries [0, scanned) are indexed
	logged  map[[32]byte][]loggedClaim
	flights map[[32]byte][]*flight
	names   map[string]string // one copy of each key ID, however many entries it signed
}

type loggedClaim struct {
	claim Claim
	index int64
}

// flight is an addition being sequenced; copies submitted meanwhile wait
// for it instead of being appended too.
type flight struct {
	claim Claim
	done  chan struct{}
	index int64
	cp    *SignedCheckpoint
	err   error
}

// catchUp indexes the entries published since the last call. c.mu is held.
func (c *claims) catchUp(b Backend, admit Admitter) error {
	if c.logged == nil {
		c.logged, c.flights, c.names = map[[32]byte][]loggedClaim{}, map[[32]byte][]*flight{}, map[string]string{}
	}
	size := b.Checkpoint().Size
	for c.scanned < size {
		to := min(size, (c.scanned>>TileHeight+1)<<TileHeight)
		entries, err := readEntries(b, c.scanned, to)
		if err != nil {
			return err
		}
		for i, cl := range admitAll(admit, entries) {
			if cl != nil {
				for j, k := range cl.Keys {
					if n, ok := c.names[k]; ok {
						cl.Keys[j] = n
					} else {
						c.names[k] = k
					}
				}
				c.logged[cl.Subject] = append(c.logged[cl.Subject], loggedClaim{*cl, c.scanned + int64(i)})
			}
		}
		c.scanned = to
	}
	return nil
}

// admitAll claims entries on every core (the work is signature checks) and
// returns their claims, nil for an entry that claims nothing.
func admitAll(admit Admitter, entries [][]byte) []*Claim {
	lc, lenient := admit.(LoggedClaimer)
	out := make([]*Claim, len(entries))
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(entries); i += workers {
				if lenient {
					if cl, ok := lc.LoggedClaim(entries[i]); ok {
						out[i] = &cl
					}
				} else if cl, err := admit.Admit(entries[i]); err == nil {
					out[i] = &cl
				}
			}
		}()
	}
	wg.Wait()
	return out
}

// prime indexes the log as the server starts, so that the first addition
// rarely waits for it. An error is left for that addition to report.
func (s *Server) prime() {
	s.claims.mu.Lock()
	defer s.claims.mu.Unlock()
	s.claims.catchUp(s.log, s.admit)
}

// addClaimed adds entry, whose claim is cl, unless the log holds or is
// adding an entry that covers it, and returns the index of the entry that
// does and a checkpoint that includes it.
func (s *Server) addClaimed(ctx context.Context, entry []byte, cl Claim) (int64, *SignedCheckpoint, error) {
	c := &s.claims
	c.mu.Lock()
	if err := c.catchUp(s.log, s.admit); err != nil {
		c.mu.Unlock()
		return 0, nil, err
	}
	for _, l := range c.logged[cl.Subject] {
		if l.claim.covers(&cl) {
			c.mu.Unlock()
			return l.index, s.log.Checkpoint(), nil
		}
	}
	for _, f := range c.flights[cl.Subject] {
		if f.claim.covers(&cl) {
			c.mu.Unlock()
			select {
			case <-f.done:
				return f.index, f.cp, f.err
			case <-ctx.Done():
				return 0, nil, ctx.Err()
			}
		}
	}
	newKeys, err := c.addsOrMerges(&cl)
	if err != nil {
		c.mu.Unlock()
		return 0, nil, err
	}
	// Charged only now, and only to keys whose signature on this subject is
	// new: a copy costs no one anything, and nobody can spend a key's
	// allowance with that key's logged (public) signatures.
	if err := s.charge(ctx, newKeys); err != nil {
		c.mu.Unlock()
		return 0, nil, err
	}
	f := &flight{claim: cl, done: make(chan struct{})}
	c.flights[cl.Subject] = append(c.flights[cl.Subject], f)
	c.mu.Unlock()

	f.index, f.cp, f.err = s.log.Add(ctx, entry)

	c.mu.Lock()
	c.flights[cl.Subject] = slices.DeleteFunc(c.flights[cl.Subject], func(g *flight) bool { return g == f })
	if len(c.flights[cl.Subject]) == 0 {
		delete(c.flights, cl.Subject)
	}
	c.mu.Unlock()
	close(f.done)
	return f.index, f.cp, f.err
}

// addsOrMerges applies the rule that a new entry adds a signature or
// merges: cl, which no logged or in-flight entry covers, must have a key
// none of them has, or else cover every one of them; it returns cl's new keys, the only
// ones it may be charged to. Without the rule, anyone holding one key
// could pair it with others' public signatures in many ways, each a new
// entry. With it, each entry but a merge adds a key to the subject's
// union, and a merge equals that union, so the next entry without a new
// key is a copy of it. c.mu is held.
func (c *claims) addsOrMerges(cl *Claim) ([]string, error) {
	var have []string
	covered := true
	for _, l := range c.logged[cl.Subject] {
		covered = covered && cl.covers(&l.claim)
		have = append(have, l.claim.Keys...)
	}
	for _, f := range c.flights[cl.Subject] {
		covered = covered && cl.covers(&f.claim)
		have = append(have, f.claim.Keys...)
	}
	slices.Sort(have)
	have = slices.Compact(have)
	var fresh []string
	for _, k := range cl.Keys {
		if _, ok := slices.BinarySearch(have, k); !ok {
			fresh = append(fresh, k)
		}
	}
	if len(fresh) == 0 && !covered {
		return nil, fmt.Errorf("%w: every signature in it is logged already, and it does not carry all %s that the log holds or is adding for the same subject: add the logged signatures to yours (a merge) and submit again",
			ErrNotAdmitted, strings.Join(have, ", "))
	}
	return fresh, nil
}

// charge counts an addition against one of keys: in the backend if its
// front ends share the count, in memory otherwise.
func (s *Server) charge(ctx context.Context, keys []string) error {
	if kc, ok := s.log.(KeyCharger); ok && s.KeyLimit > 0 && len(keys) > 0 {
		return kc.ChargeKey(ctx, keys, s.KeyLimit, s.KeyWindow, s.now())
	}
	return s.limits.charge(keys, s.KeyLimit, s.KeyWindow, s.now())
}
