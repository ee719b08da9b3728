package translog

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"ssms.dev/ssms/internal/atomicfile"
)

// Files of a log directory.
const (
	keyFile        = "log.key"    // the note signer key, 0600
	vkeyFile       = "log.vkey"   // its verifier key
	entriesFile    = "entries"    // uint16 length || entry, back to back
	indexFile      = "index"      // uint64 end offset of each entry in entriesFile
	hashesFile     = "hashes"     // sumdb/tlog stored hashes, 32 bytes each
	checkpointFile = "checkpoint" // the latest signed checkpoint
)

// MaxEntrySize is the largest entry: tlog-tiles bundles give entries a
// 16-bit length.
const MaxEntrySize = 1<<16 - 1

// ErrCorrupt means the directory does not hold what its checkpoint says.
var ErrCorrupt = errors.New("log storage is corrupt")

// Store is an append-only RFC 6962 log in one directory. It is safe for
// concurrent use; appends are serialised by the caller (see Sequencer).
type Store struct {
	dir     string
	signer  note.Signer
	logKey  note.Verifier
	vkey    string
	origin  string
	entries *os.File
	index   *os.File
	hashes  *os.File

	mu         sync.RWMutex
	size       int64             // entries on disk and hashed
	published  *SignedCheckpoint // latest checkpoint written
	lastEnd    int64             // end offset of the last entry
	dedup      map[uint64]int64  // first 8 bytes of leaf hash → index
	dedupExtra map[tlog.Hash]int64
	failed     error // set when a write failed half-way; only a restart recovers
	cache      hashCache
}

// Init creates a new, empty log in dir, which must not exist or be empty,
// and returns its verifier key.
func Init(dir, origin string) (vkey string, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	if names, _ := os.ReadDir(dir); len(names) > 0 {
		return "", fmt.Errorf("%s is not empty; a log directory holds one log", dir)
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		return "", fmt.Errorf("origin %q: %w", origin, err)
	}
	for _, name := range []string{entriesFile, indexFile, hashesFile} {
		if err := atomicfile.Create(filepath.Join(dir, name), nil, 0o600); err != nil {
			return "", err
		}
	}
	if err := atomicfile.Create(filepath.Join(dir, vkeyFile), []byte(vkey+"\n"), 0o644); err != nil {
		return "", err
	}
	// The key goes last: a directory with a key is a complete log.
	if err := atomicfile.Create(filepath.Join(dir, keyFile), []byte(skey+"\n"), 0o600); err != nil {
		return "", err
	}
	s, err := Open(dir)
	if err != nil {
		return "", err
	}
	return vkey, s.Close()
}

// Open opens the log in dir, recovering from a crash: a torn last write is
// cut off, entries written but never checkpointed are kept and covered by
// a new checkpoint. If anything a checkpoint covered is missing or
// different, Open fails with ErrCorrupt and changes nothing.
func Open(dir string) (*Store, error) {
	k, err := LoadKey(dir)
	if err != nil {
		return nil, err
	}
	s := &Store{dir: dir, signer: k.Signer, vkey: k.VKey, origin: k.Signer.Name(), logKey: k.Verifier,
		dedup: map[uint64]int64{}, dedupExtra: map[tlog.Hash]int64{}}
	for _, f := range []struct {
		name string
		ptr  **os.File
	}{{entriesFile, &s.entries}, {indexFile, &s.index}, {hashesFile, &s.hashes}} {
		if *f.ptr, err = os.OpenFile(filepath.Join(dir, f.name), os.O_RDWR, 0); err != nil {
			s.Close()
			return nil, err
		}
	}
	if err := s.recover(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Key is a log's note key, as ssms log init writes it in a log directory.
type Key struct {
	Signer   note.Signer
	Verifier note.Verifier
	VKey     string
}

// LoadKey reads the note key of the log directory dir (log.key and
// log.vkey), checking that they match.
func LoadKey(dir string) (*Key, error) {
	skey, err := os.ReadFile(filepath.Join(dir, keyFile))
	if err != nil {
		return nil, fmt.Errorf("%s is not a log directory (ssms log init creates one): %w", dir, err)
	}
	signer, err := note.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		return nil, fmt.Errorf("%s: malformed log key", filepath.Join(dir, keyFile))
	}
	vkey, err := os.ReadFile(filepath.Join(dir, vkeyFile))
	if err != nil {
		return nil, err
	}
	k := &Key{Signer: signer, VKey: strings.TrimSpace(string(vkey))}
	if k.Verifier, err = note.NewVerifier(k.VKey); err != nil || k.Verifier.Name() != signer.Name() {
		return nil, fmt.Errorf("%s does not match %s", vkeyFile, keyFile)
	}
	return k, nil
}

// Close releases the files.
func (s *Store) Close() error {
	var errs []error
	for _, f := range []*os.File{s.entries, s.index, s.hashes} {
		if f != nil {
			errs = append(errs, f.Close())
		}
	}
	return errors.Join(errs...)
}

// Origin is the log's checkpoint origin and key name.
func (s *Store) Origin() string { return s.origin }

// VerifierKey is the log's note verifier key.
func (s *Store) VerifierKey() string { return s.vkey }

// Checkpoint returns the latest signed checkpoint.
func (s *Store) Checkpoint() *SignedCheckpoint {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.published
}

// readHashes reads stored hashes; it serves sumdb/tlog's HashReader.
func (s *Store) readHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		if h, ok := s.cache.get(idx); ok {
			out[i] = h
			continue
		}
		if _, err := s.hashes.ReadAt(out[i][:], idx*tlog.HashSize); err != nil {
			return nil, fmt.Errorf("reading stored hash %d: %w", idx, err)
		}
		s.cache.put(idx, out[i])
	}
	return out, nil
}

// entryEnd returns the end offset in entriesFile of entry i.
func (s *Store) entryEnd(i int64) (int64, error) {
	if i < 0 {
		return 0, nil
	}
	var b [8]byte
	if _, err := s.index.ReadAt(b[:], i*8); err != nil {
		return 0, err
	}
	return int64(binary.BigEndian.Uint64(b[:])), nil
}

// readRange reads the bytes of entries [from, to) as stored: each with its
// uint16 length prefix, which is the tlog-tiles entry bundle encoding.
func (s *Store) readRange(from, to int64) ([]byte, error) {
	start, err := s.entryEnd(from - 1)
	if err != nil {
		return nil, err
	}
	end, err := s.entryEnd(to - 1)
	if err != nil {
		return nil, err
	}
	b := make([]byte, end-start)
	if _, err := s.entries.ReadAt(b, start); err != nil && !(errors.Is(err, io.EOF) && len(b) == 0) {
		return nil, err
	}
	return b, nil
}

// CheckpointPath is the file holding the latest checkpoint.
func (s *Store) CheckpointPath() string { return filepath.Join(s.dir, checkpointFile) }
