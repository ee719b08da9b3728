package translog

import (
	"context"
	"fmt"
	"path/filepath"

	"golang.org/x/mod/sumdb/tlog"

	"ssms.dev/ssms/internal/atomicfile"
)

// Cosigner gets witness cosignatures for a checkpoint the log signed.
// prove gives the consistency proof from an older size. It returns the
// signed checkpoint with the cosignatures appended; it must return within
// ctx's deadline whatever the witnesses do.
type Cosigner interface {
	Cosign(ctx context.Context, cp *SignedCheckpoint, prove func(old int64) ([]tlog.Hash, error)) ([]byte, error)
}

// Attach replaces the published checkpoint with the same checkpoint
// carrying more signatures (witness cosignatures), and writes it to disk.
// It accepts only a note that still carries the log's signature over the
// same tree. The note keeps one signature line per key, the last one (see
// OneSignaturePerKey): re-cosigning an unchanged checkpoint replaces each
// witness's line rather than adding one, so the note never grows past what
// sumdb/note opens.
func (s *Store) Attach(cosigned []byte) error {
	cosigned = OneSignaturePerKey(cosigned)
	cp, err := OpenCheckpoint(cosigned, s.origin, s.logKey)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if pub := s.published; cp.Size != pub.Size || cp.Hash != pub.Hash {
		return fmt.Errorf("cosigned checkpoint is for size %d, the log published %d", cp.Size, pub.Size)
	}
	if err := atomicfile.Write(filepath.Join(s.dir, checkpointFile), cosigned, 0o644); err != nil {
		return err
	}
	s.published = cp
	return nil
}

// cosign asks the cosigner about the current checkpoint and attaches what
// it returns. Failures leave the log-signed checkpoint in place: a log
// whose witnesses are down degrades, it does not stop.
func (q *Sequencer) cosign() {
	if q.cosigner == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), q.cosignTimeout)
	defer cancel()
	cp := q.store.Checkpoint()
	raw, err := q.cosigner.Cosign(ctx, cp, func(old int64) ([]tlog.Hash, error) {
		return q.store.ConsistencyProof(old, cp.Size)
	})
	if err == nil {
		err = q.store.Attach(raw)
	}
	if err != nil && q.onCosignError != nil {
		q.onCosignError(err)
	}
}
