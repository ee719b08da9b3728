package translog

import (
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// ErrNotFound means the request is beyond the published tree.
var ErrNotFound = errors.New("beyond the published tree")

// TileHeight is the tile height of C2SP tlog-tiles: 2^8 hashes per tile.
const TileHeight = 8

func (s *Store) hashReader() tlog.HashReader { return tlog.HashReaderFunc(s.readHashes) }

func (s *Store) publishedSize() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.published.Size
}

// InclusionProof proves that entry index is in the tree of size size,
// which must not exceed the published checkpoint.
func (s *Store) InclusionProof(index, size int64) ([]tlog.Hash, error) {
	if pub := s.publishedSize(); size > pub {
		return nil, fmt.Errorf("%w: size %d, published %d", ErrNotFound, size, pub)
	}
	if index < 0 || index >= size {
		return nil, fmt.Errorf("index %d is not in a tree of size %d", index, size)
	}
	p, err := tlog.ProveRecord(size, index, s.hashReader())
	return p, err
}

// ConsistencyProof proves that the tree of size old is a prefix of the
// tree of size new, which must not exceed the published checkpoint.
func (s *Store) ConsistencyProof(old, new int64) ([]tlog.Hash, error) {
	if pub := s.publishedSize(); new > pub {
		return nil, fmt.Errorf("%w: size %d, published %d", ErrNotFound, new, pub)
	}
	if old < 0 || old > new {
		return nil, fmt.Errorf("old size %d is not between 0 and %d", old, new)
	}
	if old == 0 || old == new {
		return []tlog.Hash{}, nil // RFC 6962: the empty proof
	}
	p, err := tlog.ProveTree(new, old, s.hashReader())
	return p, err
}

// TreeHash returns the root hash of the tree of the given size.
func (s *Store) TreeHash(size int64) (tlog.Hash, error) {
	if pub := s.publishedSize(); size > pub {
		return tlog.Hash{}, fmt.Errorf("%w: size %d, published %d", ErrNotFound, size, pub)
	}
	return tlog.TreeHash(size, s.hashReader())
}

// Tile returns a tlog-tiles hash tile. W is 256 for a full tile.
func (s *Store) Tile(level, n int64, w int) ([]byte, error) {
	if err := s.checkTile(level, n, w); err != nil {
		return nil, err
	}
	return tlog.ReadTileData(tlog.Tile{H: TileHeight, L: int(level), N: n, W: w}, s.hashReader())
}

// EntryBundle returns a tlog-tiles entry bundle: entries
// [n·256, n·256+w), each with its big-endian uint16 length.
func (s *Store) EntryBundle(n int64, w int) ([]byte, error) {
	if err := s.checkTile(0, n, w); err != nil {
		return nil, err
	}
	return s.readRange(n<<TileHeight, n<<TileHeight+int64(w))
}

// Entry returns entry i.
func (s *Store) Entry(i int64) ([]byte, error) {
	if pub := s.publishedSize(); i < 0 || i >= pub {
		return nil, fmt.Errorf("%w: entry %d, published %d", ErrNotFound, i, pub)
	}
	b, err := s.readRange(i, i+1)
	if err != nil {
		return nil, err
	}
	return b[2:], nil
}

// checkTile accepts a tile only if the published tree contains all of it.
func (s *Store) checkTile(level, n int64, w int) error {
	return CheckTile(s.publishedSize(), level, n, w)
}

// CheckTile returns ErrNotFound unless the tree of size size contains all
// of tile n of width w at level L, which holds hashes [n·256, n·256+w) of
// that level; the tree has size>>(8·L) of them. The test divides rather
// than multiplies, so an index near 2^63 cannot wrap around into the tree.
func CheckTile(size, level, n int64, w int) error {
	if level < 0 || level > 63/TileHeight || n < 0 || w < 1 || w > 1<<TileHeight {
		return fmt.Errorf("%w: no tile %d/%d of width %d", ErrNotFound, level, n, w)
	}
	have := size >> (TileHeight * level)
	if have < int64(w) || n > (have-int64(w))>>TileHeight {
		return fmt.Errorf("%w: tile %d/%d of width %d", ErrNotFound, level, n, w)
	}
	return nil
}
