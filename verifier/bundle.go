package verifier

import (
	"bytes"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"ssms.dev/ssms/internal/strictjson"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/translog"
)

// MediaType identifies a bundle; a later incompatible format would have
// another.
const MediaType = "application/vnd.ssms.bundle.v1+json"

// Limits on bundles.
const (
	MaxBundleSize  = 1 << 20
	MaxPolicies    = 64 // a rotation a month for five years
	MaxRebuilds    = 32
	MaxConsistency = 8
)

// Bundle is everything the verifier needs about one release, offline.
type Bundle struct {
	MediaType   string        `json:"mediaType"`
	Release     Logged        `json:"release"`
	FirstSeen   FirstSeen     `json:"firstSeen"`
	Policies    []Logged      `json:"policies"`
	Rebuilds    []Logged      `json:"rebuilds"`
	RollbackOf  *Logged       `json:"rollbackOf,omitempty"`
	Consistency []Consistency `json:"consistency"`
}

// Logged is a document as the log holds it, and its proof against the
// bundle's head checkpoint.
type Logged struct {
	Entry []byte `json:"entry"` // the exact bytes logged
	Proof string `json:"proof"` // a C2SP tlog-proof
}

// FirstSeen dates a release: the earliest entry of its payload, proven in
// the checkpoint it was published under, and that checkpoint's
// consistency with the head.
type FirstSeen struct {
	Entry       []byte   `json:"entry"`
	Proof       string   `json:"proof"`
	Consistency []string `json:"consistency"` // RFC 6962, from the proof's checkpoint to the head
}

// Consistency is a consistency proof to the head from an older size, for
// clients that accepted a checkpoint of that size before.
type Consistency struct {
	Size   int64    `json:"size"`
	Hashes []string `json:"hashes"`
}

// parsed is a bundle with its parts decoded and cross-checked: every
// proof against the same head, no document twice.
type parsed struct {
	*Bundle
	head       []byte // the signed head checkpoint, as in every proof
	release    doc
	first      doc
	firstCons  []tlog.Hash
	policies   []doc
	rebuilds   []doc
	rollbackOf *doc
	cons       map[int64][]tlog.Hash
}

// doc is one logged document with its proof.
type doc struct {
	entry []byte
	env   *manifest.Envelope
	proof *translog.Proof
}

// ParseBundle decodes a bundle, accepting only its canonical encoding
// (Marshal's), within the limits above. Every entry must be a DSSE
// envelope in canonical encoding, every proof a canonical tlog-proof, and
// every proof but the first-seen one against byte-for-byte the same
// checkpoint. Signatures and proofs are not verified here.
func ParseBundle(data []byte) (*Bundle, error) {
	p, err := parseBundle(data)
	if err != nil {
		return nil, err
	}
	return p.Bundle, nil
}

func parseBundle(data []byte) (*parsed, error) {
	var b Bundle
	if strictjson.DecodeCanonical(data, &b, MaxBundleSize) != nil {
		// Decode again, strictly, to name the problem.
		b = Bundle{}
		if err := strictjson.Decode(data, &b, MaxBundleSize); err != nil {
			return nil, formatError("bundle: %v", err)
		}
		if err := strictjson.Canonical(data, &b); err != nil {
			return nil, formatError("bundle: %v", err)
		}
	}
	if b.MediaType != MediaType {
		return nil, formatError("bundle: mediaType %q; want %q", b.MediaType, MediaType)
	}
	switch {
	case b.Rebuilds == nil || b.Consistency == nil || b.FirstSeen.Consistency == nil:
		return nil, formatError("bundle: rebuilds, consistency and firstSeen.consistency are lists, [] when empty")
	case len(b.Policies) == 0:
		return nil, formatError("bundle: policies: empty; the chain starts at the pinned policy")
	case len(b.Policies) > MaxPolicies:
		return nil, formatError("bundle: policies: %d; at most %d", len(b.Policies), MaxPolicies)
	case len(b.Rebuilds) > MaxRebuilds:
		return nil, formatError("bundle: rebuilds: %d; at most %d", len(b.Rebuilds), MaxRebuilds)
	case len(b.Consistency) > MaxConsistency:
		return nil, formatError("bundle: consistency: %d proofs; at most %d", len(b.Consistency), MaxConsistency)
	}
	p := &parsed{Bundle: &b, cons: map[int64][]tlog.Hash{}}
	var err error
	seen := map[int64]field{}
	if p.release, err = p.logged(field{"release", -1}, b.Release, seen); err != nil {
		return nil, err
	}
	p.policies = make([]doc, 0, len(b.Policies))
	for i, l := range b.Policies {
		d, err := p.logged(field{"policies", i}, l, seen)
		if err != nil {
			return nil, err
		}
		p.policies = append(p.policies, d)
	}
	p.rebuilds = make([]doc, 0, len(b.Rebuilds))
	for i, l := range b.Rebuilds {
		d, err := p.logged(field{"rebuilds", i}, l, seen)
		if err != nil {
			return nil, err
		}
		p.rebuilds = append(p.rebuilds, d)
	}
	if b.RollbackOf != nil {
		d, err := p.logged(field{"rollbackOf", -1}, *b.RollbackOf, seen)
		if err != nil {
			return nil, err
		}
		p.rollbackOf = &d
	}
	if p.first, err = parseFirst(b.FirstSeen, p.release); err != nil {
		return nil, err
	}
	if p.firstCons, err = hashes("firstSeen.consistency", b.FirstSeen.Consistency); err != nil {
		return nil, err
	}
	for i, c := range b.Consistency {
		field := fmt.Sprintf("consistency[%d]", i)
		if c.Size < 1 {
			return nil, formatError("bundle: %s.size: %d; want 1 or more", field, c.Size)
		}
		if _, dup := p.cons[c.Size]; dup {
			return nil, formatError("bundle: %s: a second proof from size %d", field, c.Size)
		}
		if p.cons[c.Size], err = hashes(field+".hashes", c.Hashes); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// logged parses one document proven against the head; seen catches one
// logged entry offered twice, under any role: in one tree, one index is
// one entry (and the log holds no two equal entries).
func (p *parsed) logged(f field, l Logged, seen map[int64]field) (doc, error) {
	d, err := parseDoc(f, l.Entry, l.Proof)
	if err != nil {
		return doc{}, err
	}
	if p.head == nil {
		p.head = d.proof.Checkpoint
	} else if !bytes.Equal(p.head, d.proof.Checkpoint) {
		return doc{}, fmt.Errorf("%w: %s: its proof is against another checkpoint than the release's; every proof in a bundle is against the same head", ErrMixedHeads, f)
	}
	if other, dup := seen[d.proof.Index]; dup {
		return doc{}, formatError("bundle: %s: the same entry as %s (index %d)", f, other, d.proof.Index)
	}
	seen[d.proof.Index] = f
	return d, nil
}

// field names a document of a bundle, formatted only for an error.
type field struct {
	name  string
	index int // -1: not in a list
}

func (f field) String() string {
	if f.index < 0 {
		return f.name
	}
	return fmt.Sprintf("%s[%d]", f.name, f.index)
}

// parseFirst parses the first-seen document, which is most often the
// release's own entry: then its parsed envelope is shared.
func parseFirst(f FirstSeen, release doc) (doc, error) {
	if !bytes.Equal(f.Entry, release.entry) {
		return parseDoc(field{"firstSeen", -1}, f.Entry, f.Proof)
	}
	pr, err := translog.ParseProof([]byte(f.Proof))
	if err != nil {
		return doc{}, formatError("bundle: firstSeen.proof: %v", err)
	}
	return doc{entry: f.Entry, env: release.env, proof: pr}, nil
}

func parseDoc(f field, entry []byte, proof string) (doc, error) {
	env, err := manifest.ParseCanonicalEnvelope(entry)
	if err != nil {
		return doc{}, formatError("bundle: %s.entry: %v", f, err)
	}
	pr, err := translog.ParseProof([]byte(proof))
	if err != nil {
		return doc{}, formatError("bundle: %s.proof: %v", f, err)
	}
	return doc{entry: entry, env: env, proof: pr}, nil
}

// hashes decodes a list of proof hashes, as tlog-proofs carry them.
func hashes(field string, lines []string) ([]tlog.Hash, error) {
	hs, err := translog.ParseHashLines(lines)
	if err != nil {
		return nil, formatError("bundle: %s: %v", field, err)
	}
	return hs, nil
}

// Marshal encodes b canonically: the only encoding ParseBundle accepts.
func (b *Bundle) Marshal() ([]byte, error) {
	c := *b
	c.Rebuilds = nonNil(c.Rebuilds)
	c.Consistency = nonNil(c.Consistency)
	c.FirstSeen.Consistency = nonNil(c.FirstSeen.Consistency)
	out, err := strictjson.Marshal(&c)
	if err != nil {
		return nil, err
	}
	if len(out) > MaxBundleSize {
		return nil, formatError("bundle: %d bytes; at most %d", len(out), MaxBundleSize)
	}
	return out, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func formatError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(format, args...))
}
