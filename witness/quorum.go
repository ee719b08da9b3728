package witness

import (
	"errors"
	"fmt"
	"strings"
	"time"

	fmtnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// Errors of quorum checks.
var (
	ErrQuorum = errors.New("witness quorum not met")
	ErrStale  = errors.New("checkpoint too old")
)

// maxSkew is how far in the future a cosignature's time may be.
const maxSkew = 10 * time.Minute

// NewVerifier parses a witness vkey (tlog-cosignature/v1, type 0x04) with
// transparency-dev/formats' cosignature verifier.
func NewVerifier(vkey string) (note.Verifier, error) {
	if !strings.Contains(vkey, "+") {
		return nil, fmt.Errorf("witness vkey %q is not name+hash+base64", vkey)
	}
	v, err := fmtnote.NewVerifierForCosignatureV1(vkey)
	if err != nil {
		return nil, fmt.Errorf("witness vkey %q: %w", vkey, err)
	}
	return v, nil
}

// Quorum is the result of checking a checkpoint's cosignatures.
type Quorum struct {
	Witnesses []string  // names of the witnesses whose cosignature verified
	Newest    time.Time // time of the newest of those cosignatures
}

// CheckQuorum counts the distinct witnesses among vkeys with a valid
// cosignature on the signed checkpoint, and demands at least quorum of
// them. If maxAge > 0 and quorum > 0, the newest cosignature must be at
// most maxAge old at now: witnesses vouch for freshness, the log cannot.
// Each signature line is checked on its own, so a bogus line cannot
// invalidate the others.
func CheckQuorum(signed []byte, vkeys []string, quorum int, now time.Time, maxAge time.Duration) (*Quorum, error) {
	var verifiers []note.Verifier
	for _, vk := range vkeys {
		v, err := NewVerifier(vk)
		if err != nil {
			return nil, err
		}
		verifiers = append(verifiers, v)
	}
	text, sigs, ok := strings.Cut(string(signed), "\n\n")
	if !ok {
		return nil, fmt.Errorf("%w: not a signed note", ErrQuorum)
	}
	q := &Quorum{}
	seen := map[string]bool{}
	for _, line := range strings.SplitAfter(sigs, "\n") {
		v, ok := verifyLine(text+"\n", line, verifiers)
		if !ok || seen[v.name] {
			continue
		}
		if v.time.After(now.Add(maxSkew)) {
			continue // from the future: not a statement about now
		}
		seen[v.name] = true
		q.Witnesses = append(q.Witnesses, v.name)
		if v.time.After(q.Newest) {
			q.Newest = v.time
		}
	}
	if len(q.Witnesses) < quorum {
		return q, fmt.Errorf("%w: %d of %d required cosignatures (%s)", ErrQuorum, len(q.Witnesses), quorum, strings.Join(q.Witnesses, ", "))
	}
	if quorum > 0 && maxAge > 0 && now.Sub(q.Newest) > maxAge {
		return q, fmt.Errorf("%w: newest cosignature from %s, more than %s before %s", ErrStale, q.Newest.UTC().Format(time.RFC3339), maxAge, now.UTC().Format(time.RFC3339))
	}
	return q, nil
}

type verifiedLine struct {
	name string
	time time.Time
}

// verifyLine checks one signature line over the note text with the given
// verifiers, by opening a note made of just that line.
func verifyLine(text, line string, verifiers []note.Verifier) (verifiedLine, bool) {
	if !strings.HasPrefix(line, "— ") || !strings.HasSuffix(line, "\n") {
		return verifiedLine{}, false
	}
	n, err := note.Open([]byte(text+"\n"+line), note.VerifierList(verifiers...))
	if err != nil || len(n.Sigs) != 1 {
		return verifiedLine{}, false
	}
	t, err := fmtnote.CoSigV1Timestamp(n.Sigs[0])
	if err != nil {
		return verifiedLine{}, false
	}
	return verifiedLine{name: n.Sigs[0].Name, time: t}, true
}
