package translog

import (
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Errors of proof verification. Each carries the evidence when returned.
var (
	ErrInclusion   = errors.New("inclusion proof does not verify")
	ErrConsistency = errors.New("consistency proof does not verify")
)

// LeafHash is the RFC 6962 hash of a log entry: SHA-256(0x00 || entry).
func LeafHash(entry []byte) tlog.Hash { return tlog.RecordHash(entry) }

// VerifyInclusion checks that proof shows that the entry with leaf hash
// leaf is at index in the tree of size size with root hash root. It uses
// transparency-dev/merkle, independent of the sumdb/tlog code that makes
// the proofs.
func VerifyInclusion(index, size int64, leaf tlog.Hash, hashes []tlog.Hash, root tlog.Hash) error {
	if index < 0 || index >= size {
		return fmt.Errorf("%w: index %d outside a tree of size %d", ErrInclusion, index, size)
	}
	err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(index), uint64(size), leaf[:], toBytes(hashes), root[:])
	if errors.As(err, new(proof.RootMismatchError)) {
		// The library's message is two raw byte slices; say what it means.
		return fmt.Errorf("%w: this entry is not entry %d of the signed tree of size %d: the proof is for another entry, or the entry was changed", ErrInclusion, index, size)
	}
	if err != nil {
		return fmt.Errorf("%w: entry %d in tree %d: %v", ErrInclusion, index, size, err)
	}
	return nil
}

// ConsistencyError is the evidence that two tree heads are not consistent:
// both heads and the proof, so it can be shown to others.
type ConsistencyError struct {
	Old, New   Checkpoint
	Proof      []tlog.Hash
	Underlying string
}

func (e *ConsistencyError) Error() string {
	return fmt.Sprintf("%v: tree %d (%x) is not a prefix of tree %d (%x): %s", ErrConsistency, e.Old.Size, e.Old.Hash[:8], e.New.Size, e.New.Hash[:8], e.Underlying)
}

func (e *ConsistencyError) Unwrap() error { return ErrConsistency }

// VerifyConsistency checks that proof shows old's tree is a prefix of
// new's. Equal sizes need equal hashes and an empty proof.
func VerifyConsistency(old, new Checkpoint, hashes []tlog.Hash) error {
	if old.Size > new.Size {
		return &ConsistencyError{Old: old, New: new, Proof: hashes, Underlying: "the new tree is smaller"}
	}
	err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(old.Size), uint64(new.Size), toBytes(hashes), old.Hash[:], new.Hash[:])
	var mismatch proof.RootMismatchError
	if errors.As(err, &mismatch) {
		return &ConsistencyError{Old: old, New: new, Proof: hashes, Underlying: "the proof does not lead from the older root to the newer one"}
	}
	if err != nil {
		return &ConsistencyError{Old: old, New: new, Proof: hashes, Underlying: err.Error()}
	}
	return nil
}

// VerifyProof checks a tlog-proof for entry: the checkpoint is signed by
// the log (origin and logKey) and the entry is included in its tree. It
// returns the verified checkpoint, whose other signatures (witness
// cosignatures) are left to the caller.
func VerifyProof(p *Proof, entry []byte, origin string, logKey note.Verifier) (*SignedCheckpoint, error) {
	c, err := OpenCheckpoint(p.Checkpoint, origin, logKey)
	if err != nil {
		return nil, err
	}
	if err := VerifyInclusion(p.Index, c.Size, LeafHash(entry), p.Hashes, c.Hash); err != nil {
		return nil, err
	}
	return c, nil
}

func toBytes(hashes []tlog.Hash) [][]byte {
	out := make([][]byte, len(hashes))
	for i := range hashes {
		out[i] = hashes[i][:]
	}
	return out
}
