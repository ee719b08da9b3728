package translog

import (
	"context"
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"

	"ssms.dev/ssms/internal/strictjson"
)

// EvidenceType identifies the evidence format; a later incompatible format
// would have another.
const EvidenceType = "https://ssms.dev/tlog-evidence/v1"

// Errors of evidence checks.
var (
	// ErrInconclusive means evidence does not prove that the log misbehaved.
	ErrInconclusive = errors.New("evidence is inconclusive")
	// ErrOtherKey means the evidence is about another log key than the
	// trusted one: it proves nothing about the trusted log.
	ErrOtherKey = errors.New("evidence names another log key than the trusted one")
)

// Evidence is a self-contained record that a log signed two checkpoints
// that cannot both be true: anyone holding the log's vkey can check it
// with Check (ssms verify-evidence), trusting nobody who passed it on.
type Evidence struct {
	Type  string   `json:"type"`
	VKey  string   `json:"vkey"`
	Old   string   `json:"old"`   // signed checkpoint
	New   string   `json:"new"`   // signed checkpoint, not smaller than Old
	Proof []string `json:"proof"` // the consistency proof the log served, base64
	// PrefixRoot, if set, is the root of New's first Old.Size entries,
	// computed from the log's tiles; Proof must then be a consistency proof
	// from it to New's root.
	PrefixRoot string `json:"prefixRoot,omitempty"`
	Note       string `json:"note"` // who found it and how; not verified
}

// NewEvidence records old and new with the proof served between them.
func NewEvidence(vkey string, old, new []byte, hashes []tlog.Hash, note string) *Evidence {
	e := &Evidence{Type: EvidenceType, VKey: vkey, Old: string(old), New: string(new), Proof: []string{}, Note: note}
	for _, h := range hashes {
		e.Proof = append(e.Proof, encodeHash(h))
	}
	return e
}

// Marshal encodes e as JSON.
func (e *Evidence) Marshal() []byte {
	b, _ := strictjson.Marshal(e)
	return append(b, '\n')
}

// ParseEvidence decodes evidence.
func ParseEvidence(data []byte) (*Evidence, error) {
	var e Evidence
	if err := strictjson.Decode(data, &e, 64<<10); err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	if e.Type != EvidenceType {
		return nil, fmt.Errorf("evidence: type %q, want %q", e.Type, EvidenceType)
	}
	return &e, nil
}

// Check verifies the evidence against trustedVKey, the log's key as the
// caller knows it (from a policy, or given by hand), never the key the
// evidence names, which anyone could have made: both checkpoints carry the
// log's signature, and either they give two roots for one size, or the
// log's own consistency proof rebuilds the newer signed root from a prefix
// whose root is not the older signed one. A proof that does not even match
// the newer root proves nothing (ErrInconclusive).
func (e *Evidence) Check(trustedVKey string) (string, error) {
	if e.VKey != trustedVKey {
		return "", fmt.Errorf("%w: %q", ErrOtherKey, e.VKey)
	}
	v, err := NewVerifier(trustedVKey)
	if err != nil {
		return "", err
	}
	old, err := OpenCheckpoint([]byte(e.Old), v.Name(), v)
	if err != nil {
		return "", fmt.Errorf("old checkpoint: %w", err)
	}
	new, err := OpenCheckpoint([]byte(e.New), v.Name(), v)
	if err != nil {
		return "", fmt.Errorf("new checkpoint: %w", err)
	}
	if old.Size > new.Size {
		old, new = new, old
	}
	if old.Size == new.Size {
		if old.Hash == new.Hash {
			return "", fmt.Errorf("%w: the two checkpoints agree (size %d)", ErrInconclusive, old.Size)
		}
		return fmt.Sprintf("log %s signed two different roots for size %d: %s and %s", old.Origin, old.Size, old.Hash, new.Hash), nil
	}
	if old.Size == 0 {
		// Every tree extends the empty one, and RFC 6962 consistency from
		// size 0 takes no proof, so a proof or a prefix root offered here
		// would be checked against nothing: only a signed empty tree with
		// another root than the empty tree's proves anything.
		if empty := tlog.Hash(rfc6962.DefaultHasher.EmptyRoot()); old.Hash != empty {
			return fmt.Sprintf("log %s signed the root %s for the empty tree, whose root is %s", old.Origin, old.Hash, empty), nil
		}
		return "", fmt.Errorf("%w: every tree extends the empty tree", ErrInconclusive)
	}
	hashes, err := parseHashes(e.Proof)
	if err != nil {
		return "", fmt.Errorf("evidence proof: %w", err)
	}
	raw := toBytes(hashes)
	if e.PrefixRoot != "" {
		return checkPrefix(old, new, raw, e.PrefixRoot)
	}
	err = proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(old.Size), uint64(new.Size), raw, old.Hash[:], new.Hash[:])
	if err == nil {
		return "", fmt.Errorf("%w: the log's proof shows size %d is a prefix of size %d", ErrInconclusive, old.Size, new.Size)
	}
	var mismatch proof.RootMismatchError
	if errors.As(err, &mismatch) {
		// The old root was checked first and failed. If the proof, with
		// the root it implies, rebuilds the signed new root, the new tree's
		// prefix is committed to by the log's own signature: a fork.
		if proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(old.Size), uint64(new.Size), raw, mismatch.CalculatedRoot, new.Hash[:]) == nil {
			return fmt.Sprintf("log %s forked: its tree of size %d (signed) has a prefix of size %d with root %x, not the root %s it signed for that size",
				old.Origin, new.Size, old.Size, mismatch.CalculatedRoot, old.Hash), nil
		}
	}
	return "", fmt.Errorf("%w: the proof does not match the newer checkpoint either (%v)", ErrInconclusive, err)
}

// checkPrefix proves a fork from the newer tree's own prefix root: if a
// consistency proof leads from that prefix root to the newer signed root,
// the prefix is what the log committed to, and it differs from the older
// signed root.
func checkPrefix(old, new *SignedCheckpoint, raw [][]byte, prefix64 string) (string, error) {
	hs, err := parseHashes([]string{prefix64})
	if err != nil {
		return "", fmt.Errorf("evidence prefixRoot: %w", err)
	}
	prefix := hs[0]
	if prefix == old.Hash {
		return "", fmt.Errorf("%w: the newer tree's prefix of size %d has the older signed root", ErrInconclusive, old.Size)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(old.Size), uint64(new.Size), raw, prefix[:], new.Hash[:]); err != nil {
		why := ""
		var mismatch proof.RootMismatchError
		if !errors.As(err, &mismatch) { // whose message is raw byte slices
			why = " (" + err.Error() + ")"
		}
		return "", fmt.Errorf("%w: the proof does not lead from the stated prefix root to the newer root%s", ErrInconclusive, why)
	}
	return fmt.Sprintf("log %s forked: its tree of size %d (signed) has a prefix of size %d with root %s, not the root %s it signed for that size",
		old.Origin, new.Size, old.Size, prefix, old.Hash), nil
}

// ForkEvidence records a fork proven from the log's own data: old and new
// are signed by the log, prefix is the root of new's tree at old.Size and
// hashes a consistency proof from it to new's root, both read from tiles
// that new's signed root authenticates (Client.TileConsistency). Unlike a
// proof the log served, this works for every old size: when old.Size is a
// power of two, an RFC 6962 proof omits the old root (it is the first node
// of the newer tree), so no served proof alone can show what it was.
func ForkEvidence(vkey string, old, new *SignedCheckpoint, prefix tlog.Hash, hashes []tlog.Hash, note string) *Evidence {
	e := NewEvidence(vkey, old.Raw, new.Raw, hashes, note)
	e.PrefixRoot = encodeHash(prefix)
	return e
}

// TileConsistency reads from the log's tiles the root of new's tree at
// size and an RFC 6962 consistency proof from size to new.Size. Every tile
// is checked against new's root (sumdb/tlog's TileHashReader), so both are
// what the log committed to when it signed new, whatever proofs it serves.
// A caller holding a signed checkpoint of that size compares roots: equal,
// the log is consistent; different, ForkEvidence proves a fork.
func (c *Client) TileConsistency(ctx context.Context, size int64, new Checkpoint) (tlog.Hash, []tlog.Hash, error) {
	if size <= 0 || size >= new.Size {
		return tlog.Hash{}, nil, fmt.Errorf("size %d is not within a tree of size %d", size, new.Size)
	}
	r := tlog.TileHashReader(tlog.Tree{N: new.Size, Hash: new.Hash}, &tileReader{ctx: ctx, c: c})
	prefix, err := tlog.TreeHash(size, r)
	if err != nil {
		return tlog.Hash{}, nil, fmt.Errorf("root of size %d from the log's tiles: %w", size, err)
	}
	hashes, err := tlog.ProveTree(new.Size, size, r)
	if err != nil {
		return tlog.Hash{}, nil, fmt.Errorf("consistency proof from the log's tiles: %w", err)
	}
	return prefix, hashes, nil
}
