package bundler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"ssms.dev/ssms/internal/atomicfile"
	"ssms.dev/ssms/internal/dirlock"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/translog"
)

// indexFile is the index's name in its directory.
const indexFile = "index.json"

// maxIndexSize bounds the index file: about 100 bytes an entry of
// interest, so some million releases, policies and attestations.
const maxIndexSize = 256 << 20

// Index lists the log's entries that bundles are made of, so that making
// a bundle reads only the entries added since the last one. Entries of
// other kinds are skipped; the index remembers the checkpoint it covers,
// and a newer one is accepted only with a consistency proof from it.
type Index struct {
	Checkpoint string         `json:"checkpoint"` // signed; the index covers its tree
	Policies   []PolicyEntry  `json:"policies"`
	Releases   []ReleaseEntry `json:"releases"`
	Rebuilds   []RebuildEntry `json:"rebuilds"`
}

// PolicyEntry is a logged policy.
type PolicyEntry struct {
	Index   int64  `json:"index"`
	Version uint64 `json:"version"`
	Digest  string `json:"digest"` // of the payload, as policies.Policy.Digest
}

// ReleaseEntry is a logged release.
type ReleaseEntry struct {
	Index    int64  `json:"index"`
	Product  string `json:"product"`
	Version  string `json:"version"`
	Sequence uint64 `json:"sequence"`
	Type     string `json:"type"`
	Ref      string `json:"ref"` // policies.ReleaseRef of the payload
}

// RebuildEntry is a logged rebuild attestation.
type RebuildEntry struct {
	Index   int64  `json:"index"`
	Release string `json:"release"` // the ReleaseRef it names
}

// loadIndex reads the index in dir; none yet is an empty one.
func loadIndex(dir string) (*Index, error) {
	b, err := os.ReadFile(filepath.Join(dir, indexFile))
	if errors.Is(err, fs.ErrNotExist) {
		return &Index{}, nil
	}
	if err != nil {
		return nil, err
	}
	if len(b) > maxIndexSize {
		return nil, fmt.Errorf("%s: over %d bytes (delete it to index the log again)", filepath.Join(dir, indexFile), maxIndexSize)
	}
	// Plain encoding/json: the index is this program's own cache, and
	// nothing in it is trusted (every document picked is fetched from the
	// log with its proof, and the bundle is verified before it is written).
	var ix Index
	if err := json.Unmarshal(b, &ix); err != nil {
		return nil, fmt.Errorf("%s: %w (delete it to index the log again)", filepath.Join(dir, indexFile), err)
	}
	return &ix, nil
}

func (ix *Index) save(dir string) error {
	b, err := json.Marshal(ix)
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, indexFile), b, 0o644)
}

// IndexCheckpoint is the signed checkpoint the index in dir covers, ""
// if there is no index or it does not read: an updater checks that the
// log it reads now extends it.
func IndexCheckpoint(dir string) string {
	ix, err := loadIndex(dir)
	if err != nil {
		return ""
	}
	return ix.Checkpoint
}

// RefreshIndex brings the index in dir (made if there is none) to the
// log's latest checkpoint, proven consistent with the one it covered, and
// returns it with that checkpoint. An updater calls it to learn which
// releases the log holds, reading only the entries added since its last
// check.
// With latest set, the index is brought to it instead of to the
// checkpoint the log serves now: the caller checked it (freshness,
// consistency with what it saw before) and wants the index to match.
func RefreshIndex(ctx context.Context, dir string, log *translog.Client, latest *translog.SignedCheckpoint) (*Index, *translog.SignedCheckpoint, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	lock, err := dirlock.Acquire(dir)
	if err != nil {
		return nil, nil, err
	}
	defer lock.Release()
	return refresh(ctx, dir, log, latest)
}

// refresh is RefreshIndex for a caller holding dir's lock.
func refresh(ctx context.Context, dir string, log *translog.Client, latest *translog.SignedCheckpoint) (*Index, *translog.SignedCheckpoint, error) {
	ix, err := loadIndex(dir)
	if err != nil {
		return nil, nil, err
	}
	head, err := ix.update(ctx, log, latest)
	if err != nil {
		return nil, nil, err
	}
	if err := ix.save(dir); err != nil {
		return nil, nil, err
	}
	return ix, head, nil
}

// update brings the index to the log's latest checkpoint, which must be
// consistent with the one the index covers, and returns that checkpoint.
func (ix *Index) update(ctx context.Context, log *translog.Client, latest *translog.SignedCheckpoint) (*translog.SignedCheckpoint, error) {
	var old *translog.SignedCheckpoint
	if ix.Checkpoint != "" {
		var err error
		if old, err = translog.OpenCheckpoint([]byte(ix.Checkpoint), log.Origin, log.Key); err != nil {
			return nil, fmt.Errorf("the index's checkpoint: %w", err)
		}
	}
	var err error
	if latest == nil {
		latest, err = log.Update(ctx, old)
	} else if old != nil {
		if old.Size > latest.Size {
			return nil, fmt.Errorf("the index covers %d entries, more than the checkpoint of %d given: delete the index to make it again", old.Size, latest.Size)
		}
		err = log.CheckConsistency(ctx, old.Checkpoint, latest.Checkpoint)
	}
	if err != nil {
		return nil, err
	}
	from := int64(0)
	if old != nil {
		from = old.Size
	}
	const step = 1 << 16 // entries held in memory at once
	for lo := from; lo < latest.Size; lo += step {
		hi := min(lo+step, latest.Size)
		entries, err := log.Entries(ctx, lo, hi, latest.Checkpoint)
		if err != nil {
			return nil, err
		}
		for i, e := range entries {
			ix.add(lo+int64(i), e)
		}
	}
	ix.Checkpoint = string(latest.Raw)
	return latest, nil
}

// add indexes entry i if it is a policy, a release or an attestation.
// Signatures are not checked here: the bundler checks the entries it
// picks, and the verifier checks them again.
func (ix *Index) add(i int64, entry []byte) {
	env, err := manifest.ParseCanonicalEnvelope(entry) // what the log admits: the fast path
	if err != nil {
		if env, err = manifest.ParseEnvelope(entry); err != nil {
			return
		}
	}
	if env.PayloadType == policies.PayloadType {
		if p, err := policies.ParsePolicy(env.Payload); err == nil {
			ix.Policies = append(ix.Policies, PolicyEntry{Index: i, Version: p.Version, Digest: payloadDigest(env.Payload)})
		}
		return
	}
	if env.PayloadType != manifest.PayloadType {
		return
	}
	switch manifest.PredicateTypeOf(env.Payload) {
	case manifest.ReleasePredicateType:
		if st, err := manifest.ParseRelease(env.Payload); err == nil {
			p := st.Predicate
			ix.Releases = append(ix.Releases, ReleaseEntry{Index: i, Product: p.Product, Version: p.Version, Sequence: p.Sequence, Type: p.Type, Ref: policies.ReleaseRef(env.Payload)})
		}
	case manifest.RebuildPredicateType:
		if st, err := manifest.ParseRebuild(env.Payload); err == nil {
			ix.Rebuilds = append(ix.Rebuilds, RebuildEntry{Index: i, Release: st.Predicate.Release})
		}
	}
}

func payloadDigest(payload []byte) string { return "sha256:" + manifest.DigestBytes(payload).SHA256 }
