package translog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/mod/sumdb/tlog"
)

// recover brings the files to a consistent state after any crash. The
// write order of append (entries, index, hashes; fsync; then checkpoint)
// means only a tail past the last checkpoint can be torn.
func (s *Store) recover() error {
	cp, err := s.readCheckpoint()
	if err != nil {
		return err
	}
	n, end, err := s.completeEntries()
	if err != nil {
		return err
	}
	if cp != nil && n < cp.Size {
		return fmt.Errorf("%w: the checkpoint covers %d entries but only %d are on disk", ErrCorrupt, cp.Size, n)
	}
	hashed, err := s.completeHashes(n)
	if err != nil {
		return err
	}
	// Everything below is a tail no checkpoint covers: cut it off.
	if err := s.index.Truncate(n * 8); err != nil {
		return err
	}
	if err := s.entries.Truncate(end); err != nil {
		return err
	}
	if err := s.hashes.Truncate(tlog.StoredHashCount(hashed) * tlog.HashSize); err != nil {
		return err
	}
	// New entries go after the last complete entry, including those whose
	// hashes rehash is about to recompute.
	s.size, s.lastEnd = hashed, end
	if err := s.rehash(n); err != nil {
		return err
	}
	if err := s.buildDedup(); err != nil {
		return err
	}
	if cp != nil {
		root, err := tlog.TreeHash(cp.Size, tlog.HashReaderFunc(s.readHashes))
		if err != nil {
			return err
		}
		if root != cp.Hash {
			return fmt.Errorf("%w: the entries on disk do not hash to the checkpoint's root for size %d", ErrCorrupt, cp.Size)
		}
		s.published = cp
	}
	if cp == nil || cp.Size < s.size {
		return s.publish()
	}
	return nil
}

func (s *Store) readCheckpoint() (*SignedCheckpoint, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, checkpointFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	cp, err := OpenCheckpoint(b, s.origin, s.verifier())
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, checkpointFile, err)
	}
	return cp, nil
}

// completeEntries finds how many entries are wholly on disk, and where
// the last one ends, by walking back from the end of the index past any
// torn write.
func (s *Store) completeEntries() (int64, int64, error) {
	fi, err := s.index.Stat()
	if err != nil {
		return 0, 0, err
	}
	efi, err := s.entries.Stat()
	if err != nil {
		return 0, 0, err
	}
	for n := fi.Size() / 8; n > 0; n-- {
		end, err := s.entryEnd(n - 1)
		if err != nil {
			return 0, 0, err
		}
		if end > efi.Size() {
			continue
		}
		var l [2]byte
		start, _ := s.entryEnd(n - 2)
		if _, err := s.entries.ReadAt(l[:], start); err != nil || start+2+int64(binary.BigEndian.Uint16(l[:])) != end {
			continue
		}
		return n, end, nil
	}
	return 0, 0, nil
}

// completeHashes returns how many of the first n entries have all their
// stored hashes on disk.
func (s *Store) completeHashes(n int64) (int64, error) {
	fi, err := s.hashes.Stat()
	if err != nil {
		return 0, err
	}
	have := fi.Size() / tlog.HashSize
	m := n
	for m > 0 && tlog.StoredHashCount(m) > have {
		m--
	}
	return m, nil
}

// rehash computes the stored hashes of entries [s.size, n) from the
// entries themselves (after a crash between writing entries and hashes).
func (s *Store) rehash(n int64) error {
	for s.size < n {
		b, err := s.readRange(s.size, s.size+1)
		if err != nil {
			return err
		}
		if err := s.appendHashes([][]byte{b[2:]}); err != nil {
			return err
		}
	}
	return s.sync()
}

// buildDedup indexes every entry by its leaf hash, for "same bytes, same
// index". It keeps 8 bytes of hash per entry; the rare prefix collision
// goes to a map keyed by the whole hash.
func (s *Store) buildDedup() error {
	const chunk = 1 << 15 // hashes per read
	buf := make([]byte, chunk*tlog.HashSize)
	base := int64(-1)
	for i := int64(0); i < s.size; i++ {
		pos := tlog.StoredHashIndex(0, i)
		if base < 0 || pos >= base+chunk {
			base = pos
			n, err := s.hashes.ReadAt(buf, base*tlog.HashSize)
			if err != nil && n < tlog.HashSize {
				return err
			}
		}
		var h tlog.Hash
		copy(h[:], buf[(pos-base)*tlog.HashSize:])
		s.remember(h, i)
	}
	return nil
}

func (s *Store) remember(h tlog.Hash, i int64) {
	key := binary.BigEndian.Uint64(h[:8])
	if _, taken := s.dedup[key]; taken {
		s.dedupExtra[h] = i
		return
	}
	s.dedup[key] = i
}
