package witness

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	fmtnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"ssms.dev/ssms/internal/vkey"
)

// Errors of quorum checks.
var (
	ErrQuorum = errors.New("witness quorum not met")
	ErrStale  = errors.New("checkpoint too old")
)

// maxSkew is how far in the future a cosignature's time may be.
const maxSkew = 10 * time.Minute

// NewVerifier parses a witness vkey (tlog-cosignature/v1, type 0x04) with
// transparency-dev/formats' cosignature verifier, after internal/vkey's
// checks: canonical spelling, and no weak key (a small-order key admits one
// cosignature line valid for every checkpoint).
func NewVerifier(vk string) (note.Verifier, error) {
	if _, err := vkey.Parse(vk, vkey.AlgCosignatureV1); err != nil {
		return nil, fmt.Errorf("witness vkey: %w", err)
	}
	v, err := fmtnote.NewVerifierForCosignatureV1(vk)
	if err != nil {
		return nil, fmt.Errorf("witness vkey %q: %w", vk, err)
	}
	return v, nil
}

// Quorum is the result of checking a checkpoint's cosignatures.
type Quorum struct {
	Witnesses    []string      // names of the witnesses whose cosignature verified, one per key
	Cosignatures []Cosignature // the same, with each cosignature's time
	// Fresh is the time of the quorum-th newest cosignature: a quorum of
	// witnesses vouches that the checkpoint was current then. Zero when
	// the quorum is 0 or not met.
	Fresh time.Time
}

// Cosignature is one witness's verified cosignature: who and when. A
// verifier keeps the times, for instance to date when a quorum first saw
// an entry (minLogAge).
type Cosignature struct {
	Witness string
	Time    time.Time
}

// CheckQuorum counts the distinct witness keys among vkeys with a valid
// cosignature on the signed checkpoint, and demands at least quorum of
// them. If maxAge > 0 and quorum > 0, the quorum-th newest cosignature must
// be at most maxAge old at now: freshness needs a quorum too, or one
// colluding witness could keep a frozen checkpoint looking fresh alone.
// Keys are counted, not names: cosignature/v1 does not sign the name, so
// anyone can relabel a line to another name listed with the same key.
// Each signature line is checked on its own, so a bogus line cannot
// invalidate the others.
func CheckQuorum(signed []byte, vkeys []string, quorum int, now time.Time, maxAge time.Duration) (*Quorum, error) {
	verifiers := make([]note.Verifier, 0, len(vkeys))
	keyOf := make(map[string]string, len(vkeys)) // name and key hash → key material
	for _, vk := range vkeys {
		p, err := parsed.get(vk)
		if err != nil {
			return nil, err
		}
		if _, dup := keyOf[p.id]; dup {
			continue // the same vkey twice (two policies during a rotation) is one key
		}
		keyOf[p.id] = p.material
		verifiers = append(verifiers, p.verifier)
	}
	text, sigs, ok := strings.Cut(string(signed), "\n\n")
	if !ok {
		return nil, fmt.Errorf("%w: not a signed note", ErrQuorum)
	}
	q := &Quorum{}
	seen := map[string]int{} // key material → index in q.Cosignatures
	list := note.VerifierList(verifiers...)
	var msg []byte // the note with one signature line, rebuilt in place per line
	for _, line := range strings.SplitAfter(sigs, "\n") {
		msg = append(append(append(msg[:0], text...), "\n\n"...), line...)
		v, ok := verifyLine(msg, line, list)
		if !ok || v.time.After(now.Add(maxSkew)) {
			continue // not a cosignature, or from the future: not a statement about now
		}
		key := keyOf[lineID(v.name, v.hash)]
		if i, dup := seen[key]; dup {
			if v.time.After(q.Cosignatures[i].Time) {
				q.Cosignatures[i].Time = v.time // one key counts once, at its newest
			}
			continue
		}
		seen[key] = len(q.Cosignatures)
		q.Witnesses = append(q.Witnesses, v.name)
		q.Cosignatures = append(q.Cosignatures, Cosignature{Witness: v.name, Time: v.time})
	}
	if len(q.Witnesses) < quorum {
		return q, fmt.Errorf("%w: %d of %d required cosignatures (%s)", ErrQuorum, len(q.Witnesses), quorum, strings.Join(q.Witnesses, ", "))
	}
	if quorum == 0 {
		return q, nil
	}
	times := make([]time.Time, 0, len(q.Cosignatures))
	for _, c := range q.Cosignatures {
		times = append(times, c.Time)
	}
	slices.SortFunc(times, func(a, b time.Time) int { return b.Compare(a) }) // newest first
	q.Fresh = times[quorum-1]
	if maxAge > 0 && now.Sub(q.Fresh) > maxAge {
		fresh := 0
		for _, t := range times {
			if now.Sub(t) <= maxAge {
				fresh++
			}
		}
		return q, fmt.Errorf("%w: %d of %d required cosignatures are at most %s old at %s; the quorum's oldest is from %s",
			ErrStale, fresh, quorum, maxAge, now.UTC().Format(time.RFC3339), q.Fresh.UTC().Format(time.RFC3339))
	}
	return q, nil
}

func lineID(name string, hash uint32) string { return fmt.Sprintf("%s+%08x", name, hash) }

type verifiedLine struct {
	name string
	hash uint32
	time time.Time
}

// verifyLine checks one signature line, msg being the note text, a blank
// line and that line, with the given
// verifiers, by opening a note made of just that line.
func verifyLine(msg []byte, line string, verifiers note.Verifiers) (verifiedLine, bool) {
	if !strings.HasPrefix(line, "— ") || !strings.HasSuffix(line, "\n") {
		return verifiedLine{}, false
	}
	n, err := note.Open(msg, verifiers)
	if err != nil || len(n.Sigs) != 1 {
		return verifiedLine{}, false
	}
	t, err := fmtnote.CoSigV1Timestamp(n.Sigs[0])
	if err != nil {
		return verifiedLine{}, false
	}
	return verifiedLine{name: n.Sigs[0].Name, hash: n.Sigs[0].Hash, time: t}, true
}

// parsedKey is a witness vkey ready to verify with.
type parsedKey struct {
	verifier note.Verifier
	id       string // name and key hash, as signature lines name the key
	material string // the public key
}

// parsed remembers vkeys already parsed: a client checks the same
// policy's witnesses at every verification, and parsing one costs about
// as much as verifying a cosignature (the torsion check). The result
// depends on the string alone.
var parsed = &vkeyCache{keys: map[string]*parsedKey{}}

const maxParsed = 1024

type vkeyCache struct {
	mu   sync.Mutex
	keys map[string]*parsedKey
}

func (c *vkeyCache) get(vk string) (*parsedKey, error) {
	c.mu.Lock()
	p, ok := c.keys[vk]
	c.mu.Unlock()
	if ok {
		return p, nil
	}
	v, err := NewVerifier(vk)
	if err != nil {
		return nil, err
	}
	k, _ := vkey.Parse(vk, vkey.AlgCosignatureV1) // checked by NewVerifier
	p = &parsedKey{verifier: v, id: lineID(k.Name, k.Hash), material: string(k.Public)}
	c.mu.Lock()
	if len(c.keys) >= maxParsed {
		clear(c.keys)
	}
	c.keys[vk] = p
	c.mu.Unlock()
	return p, nil
}
