package translog

import (
	"context"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// Backend is what a [Server] serves: the log's storage and sequencing. The
// embedded store ([Store] with its [Sequencer], see [Embedded]) is one; a
// Trillian log over MySQL (package translog/trillianlog) is another, for a
// log served by several front ends. Both give the same answers for the
// same entries: the same checkpoints (signed by the log's note key), the
// same C2SP tiles and entry bundles, the same proofs.
//
// Every method but Add reads only what a published checkpoint covers,
// and answers ErrNotFound beyond it.
type Backend interface {
	// Origin is the log's checkpoint origin and note key name.
	Origin() string
	// VerifierKey is the log's note verifier key.
	VerifierKey() string
	// Checkpoint is the latest signed checkpoint, with the witness
	// cosignatures attached so far.
	Checkpoint() *SignedCheckpoint
	// Add appends entry unless the log holds it already (the same bytes)
	// and returns its index and a checkpoint that covers it. It returns
	// ErrOverloaded or ErrClosed when it cannot take the entry now, and
	// ctx's error when ctx ends first (the entry may still be logged).
	Add(ctx context.Context, entry []byte) (int64, *SignedCheckpoint, error)
	// InclusionProof proves entry index in the tree of size size.
	InclusionProof(index, size int64) ([]tlog.Hash, error)
	// ConsistencyProof proves the tree of size old a prefix of that of size new.
	ConsistencyProof(old, new int64) ([]tlog.Hash, error)
	// Tile is a C2SP tlog-tiles hash tile; w is 256 for a full tile.
	Tile(level, n int64, w int) ([]byte, error)
	// EntryBundle is a C2SP tlog-tiles entry bundle: entries
	// [n·256, n·256+w), each with its big-endian uint16 length.
	EntryBundle(n int64, w int) ([]byte, error)
}

// Embedded is the embedded store as a Backend: reads from the Store,
// additions through its Sequencer.
type Embedded struct {
	*Store
	Seq *Sequencer
}

// Add adds through the sequencer.
func (e Embedded) Add(ctx context.Context, entry []byte) (int64, *SignedCheckpoint, error) {
	return e.Seq.Add(ctx, entry)
}

// readEntries returns the entries [from, to) of b, which must lie in one
// entry bundle and below b's published checkpoint.
func readEntries(b Backend, from, to int64) ([][]byte, error) {
	n := from >> TileHeight
	if to <= from || (to-1)>>TileHeight != n {
		return nil, fmt.Errorf("entries [%d, %d) are not in one bundle", from, to)
	}
	raw, err := b.EntryBundle(n, int(to-n<<TileHeight))
	if err != nil {
		return nil, err
	}
	all, err := parseBundle(raw, int(to-n<<TileHeight))
	if err != nil {
		return nil, err
	}
	return all[from-n<<TileHeight:], nil
}
