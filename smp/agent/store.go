package agent

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/crypto/nacl/secretbox"
	"golang.org/x/crypto/scrypt"

	"ssms.dev/ssms/internal/atomicfile"
)

// The state file is the client's state (keys, queues, counters) as JSON,
// sealed with a key derived from a passphrase by scrypt. The key is
// derived once per process: a chat saves often, and scrypt is slow on
// purpose. The header names the scrypt parameters, so the cost can rise
// and files written at the old cost still open:
//
//	{"format":"smp-client-state/v2","kdf":"scrypt","n":131072,"r":8,"p":1,
//	 "salt":"…","nonce":"…","box":"…"}
//
// v1 files (scrypt N=2^15, no replay memory in the state) are read, and
// written back as v2: the key is derived again, with a fresh salt, at the
// current cost. A client that does not know v2 refuses it rather than
// drop what v2 adds.
type sealedFile struct {
	Format string `json:"format"` // stateFormat, or stateFormatV1 when read
	KDF    string `json:"kdf"`    // "scrypt"
	N      int    `json:"n"`
	R      int    `json:"r"`
	P      int    `json:"p"`
	Salt   []byte `json:"salt"`
	Nonce  []byte `json:"nonce"`
	Box    []byte `json:"box"`
}

const (
	stateFormat   = "smp-client-state/v2"
	stateFormatV1 = "smp-client-state/v1"
	maxStateBytes = 16 << 20
)

// scryptN is the cost of new keys: 2^17 with r=8 is 128 MiB and about
// 0.45 s on a 2-core test machine, once per process. Old files (2^15, the
// "interactive" minimum) are upgraded on their next save. The reader takes
// 2^14 to 2^18: below is too weak to have been written by this client,
// above would let a file make the client use more than 256 MiB and
// seconds of work before the passphrase is even checked (one step of
// headroom to raise the cost later).
const (
	scryptN    = 1 << 17
	minScryptN = 1 << 14
	maxScryptN = 1 << 18
)

// ErrPassphrase means the state did not open with the passphrase given.
var ErrPassphrase = errors.New("wrong passphrase, or the state file is damaged")

// ErrEmptyPassphrase refuses to seal a state with an empty or blank
// passphrase: its keys would be readable by anyone who gets the file. A
// new state is refused; an old one sealed so (the first client let the
// terminal's empty answer through) opens, but is not written again
// until Store.Rekey gives it a passphrase.
var ErrEmptyPassphrase = errors.New("the passphrase is empty; the state's keys would be readable by anyone with the file")

// ErrStateTooLarge refuses to write a state the reader would refuse.
var ErrStateTooLarge = errors.New("the state is larger than the 16 MiB a state file may have")

// blank says whether a passphrase is empty or only white space.
func blank(p []byte) bool { return len(bytes.TrimSpace(p)) == 0 }

// ErrLocked means another smp-client process has the state open.
var ErrLocked = errors.New("the state is in use by another smp-client process")

// Store is an open, locked state file.
type Store struct {
	path string
	lock *os.File
	key  [32]byte
	salt []byte
	n    int  // scrypt cost the key was derived with
	weak bool // opened with a blank passphrase: Save refuses until Rekey
}

// OpenStore locks the state at path and reads it with the passphrase; a
// missing file is a new, empty state. Close releases the lock.
func OpenStore(path string, passphrase []byte) (*Store, *State, error) {
	lock, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, nil, err
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, ErrLocked)
	}
	s := &Store{path: path, lock: lock}
	st, err := s.read(passphrase)
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	return s, st, nil
}

func (s *Store) read(passphrase []byte) (*State, error) {
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		if blank(passphrase) {
			return nil, fmt.Errorf("%s: %w", s.path, ErrEmptyPassphrase)
		}
		return newState(), s.newKey(passphrase)
	}
	if err != nil {
		return nil, err
	}
	if len(b) > maxStateBytes {
		return nil, fmt.Errorf("%s: %w", s.path, ErrStateTooLarge)
	}
	var f sealedFile
	if err := json.Unmarshal(b, &f); err != nil || (f.Format != stateFormat && f.Format != stateFormatV1) || f.KDF != "scrypt" || len(f.Nonce) != 24 || len(f.Salt) < 16 {
		return nil, fmt.Errorf("%s: not an smp-client state file", s.path)
	}
	if f.N < minScryptN || f.N > maxScryptN || f.N&(f.N-1) != 0 || f.R != 8 || f.P != 1 {
		return nil, fmt.Errorf("%s: unexpected scrypt parameters N=%d r=%d p=%d", s.path, f.N, f.R, f.P)
	}
	s.salt = f.Salt
	if err := s.derive(passphrase, f.N); err != nil {
		return nil, err
	}
	plain, ok := secretbox.Open(nil, f.Box, (*[24]byte)(f.Nonce), &s.key)
	if !ok {
		return nil, fmt.Errorf("%s: %w", s.path, ErrPassphrase)
	}
	st := newState()
	if err := json.Unmarshal(plain, st); err != nil {
		return nil, fmt.Errorf("%s: state: %w", s.path, err)
	}
	if err := st.check(); err != nil {
		return nil, err
	}
	s.weak = blank(passphrase)
	if f.N < scryptN {
		// Written at a lower cost: the next save uses the current one.
		return st, s.newKey(passphrase)
	}
	return st, nil
}

// newKey derives the key for a fresh salt at the current cost.
func (s *Store) newKey(passphrase []byte) error {
	s.salt = make([]byte, 32)
	rand.Read(s.salt)
	return s.derive(passphrase, scryptN)
}

func (s *Store) derive(passphrase []byte, n int) error {
	s.n = n
	k, err := scrypt.Key(passphrase, s.salt, n, 8, 1, 32)
	if err != nil {
		return err
	}
	copy(s.key[:], k)
	return nil
}

// NeedsPassphrase says whether the state was opened with a blank
// passphrase: Save refuses until Rekey.
func (s *Store) NeedsPassphrase() bool { return s.weak }

// Rekey seals st with a new passphrase, at the current cost and a fresh
// salt, and writes it.
func (s *Store) Rekey(passphrase []byte, st *State) error {
	if blank(passphrase) {
		return fmt.Errorf("%s: %w", s.path, ErrEmptyPassphrase)
	}
	if err := s.newKey(passphrase); err != nil {
		return err
	}
	s.weak = false
	return s.Save(st)
}

// Save seals st and replaces the file atomically. It refuses a state
// opened with a blank passphrase (see Rekey), and one the reader would
// refuse as too large, before writing anything.
func (s *Store) Save(st *State) error {
	if s.weak {
		return fmt.Errorf("%s: %w; set a new one first", s.path, ErrEmptyPassphrase)
	}
	plain, err := json.Marshal(st)
	if err != nil {
		return err
	}
	f := sealedFile{Format: stateFormat, KDF: "scrypt", N: s.n, R: 8, P: 1, Salt: s.salt, Nonce: make([]byte, 24)}
	if _, err := rand.Read(f.Nonce); err != nil {
		return err
	}
	f.Box = secretbox.Seal(nil, plain, (*[24]byte)(f.Nonce), &s.key)
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	if len(b) > maxStateBytes {
		return fmt.Errorf("%s: %w (%d bytes)", s.path, ErrStateTooLarge, len(b))
	}
	return atomicfile.Write(s.path, b, 0o600)
}

// Close releases the lock.
func (s *Store) Close() error {
	s.key = [32]byte{}
	return s.lock.Close()
}
