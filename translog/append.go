package translog

import (
	"encoding/binary"
	"fmt"
	"path/filepath"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"ssms.dev/ssms/internal/atomicfile"
)

// Lookup returns the index of entry if the log (or the batch being written)
// holds it, comparing the full bytes, not just the hash.
func (s *Store) Lookup(entry []byte) (int64, bool, error) {
	h := LeafHash(entry)
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, i := range s.candidates(h) {
		b, err := s.readRange(i, i+1)
		if err != nil {
			return 0, false, err
		}
		if string(b[2:]) == string(entry) {
			return i, true, nil
		}
	}
	return 0, false, nil
}

func (s *Store) candidates(h tlog.Hash) []int64 {
	var out []int64
	if i, ok := s.dedup[binary.BigEndian.Uint64(h[:8])]; ok {
		out = append(out, i)
	}
	if i, ok := s.dedupExtra[h]; ok {
		out = append(out, i)
	}
	return out
}

// Append writes a batch of entries and makes it durable, then signs and
// publishes a checkpoint that covers it; it returns the index of the first
// entry. Only one Append may run at a time. The caller deduplicates.
func (s *Store) Append(batch [][]byte) (first int64, err error) {
	if s.failed != nil {
		return 0, fmt.Errorf("log stopped after a failed write (restart to recover): %w", s.failed)
	}
	defer func() {
		if err != nil {
			s.failed = err
		}
	}()
	for i, e := range batch {
		if len(e) > MaxEntrySize {
			return 0, fmt.Errorf("entry %d of the batch: %d bytes; at most %d", i, len(e), MaxEntrySize)
		}
	}
	first = s.size
	var rec, idx []byte
	end := s.lastEnd
	for _, e := range batch {
		rec = binary.BigEndian.AppendUint16(rec, uint16(len(e)))
		rec = append(rec, e...)
		end += 2 + int64(len(e))
		idx = binary.BigEndian.AppendUint64(idx, uint64(end))
	}
	if _, err := s.entries.WriteAt(rec, s.lastEnd); err != nil {
		return 0, err
	}
	if _, err := s.index.WriteAt(idx, first*8); err != nil {
		return 0, err
	}
	if err := s.appendHashes(batch); err != nil {
		return 0, err
	}
	// Durable before signed: a checkpoint never covers what a crash can lose.
	if err := s.sync(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	s.lastEnd = end
	for i, e := range batch {
		s.remember(LeafHash(e), first+int64(i))
	}
	s.mu.Unlock()
	return first, s.publish()
}

// appendHashes computes and writes the stored hashes of entries appended
// after s.size, advancing s.size.
func (s *Store) appendHashes(batch [][]byte) error {
	var pending []tlog.Hash
	base := tlog.StoredHashCount(s.size)
	read := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, idx := range indexes {
			if idx >= base {
				out[i] = pending[idx-base]
				continue
			}
			h, err := s.readHashes([]int64{idx})
			if err != nil {
				return nil, err
			}
			out[i] = h[0]
		}
		return out, nil
	})
	for i, e := range batch {
		hs, err := tlog.StoredHashes(s.size+int64(i), e, read)
		if err != nil {
			return err
		}
		pending = append(pending, hs...)
	}
	buf := make([]byte, 0, len(pending)*tlog.HashSize)
	for _, h := range pending {
		buf = append(buf, h[:]...)
	}
	if _, err := s.hashes.WriteAt(buf, base*tlog.HashSize); err != nil {
		return err
	}
	for i, h := range pending {
		s.cache.put(base+int64(i), h)
	}
	s.mu.Lock()
	s.size += int64(len(batch))
	s.mu.Unlock()
	return nil
}

func (s *Store) sync() error {
	for _, f := range [...]interface{ Sync() error }{s.entries, s.index, s.hashes} {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	return nil
}

// publish signs a checkpoint for the current size and writes it.
func (s *Store) publish() error {
	s.mu.RLock()
	size := s.size
	s.mu.RUnlock()
	root, err := tlog.TreeHash(size, tlog.HashReaderFunc(s.readHashes))
	if err != nil {
		return err
	}
	c := Checkpoint{Origin: s.origin, Size: size, Hash: root}
	signed, err := note.Sign(&note.Note{Text: string(c.Marshal())}, s.signer)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(s.dir, checkpointFile), signed, 0o644); err != nil {
		return err
	}
	n, err := note.Open(signed, note.VerifierList(s.verifier()))
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.published = &SignedCheckpoint{Checkpoint: c, Note: n, Raw: signed}
	s.mu.Unlock()
	return nil
}

func (s *Store) verifier() note.Verifier { return s.logKey }
