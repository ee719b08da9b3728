// Package vkey parses C2SP signed-note verifier keys of Ed25519 keys,
//
//	<name>+<hash>+<base64 of alg || key>
//
// as log keys (alg 0x01) and witness keys (alg 0x04, tlog-cosignature/v1)
// are written. It accepts a subset of what golang.org/x/mod/sumdb/note
// accepts: only the canonical spelling (lowercase hex hash, canonical
// base64, so one key has one vkey), a printable name, a hash that matches
// the name and key, and no weak key (small-order or non-canonical Ed25519
// points admit signatures valid for every message; see internal/keycheck).
// Every vkey the project takes in goes through Parse before it reaches a
// note verifier.
package vkey

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"ssms.dev/ssms/internal/b64"
	"ssms.dev/ssms/internal/keycheck"
)

// Signature algorithms of C2SP signed-note keys.
const (
	AlgEd25519       = 0x01 // C2SP signed-note Ed25519 (logs)
	AlgCosignatureV1 = 0x04 // C2SP tlog-cosignature/v1 (witnesses)
)

// Key is a parsed verifier key.
type Key struct {
	Name   string
	Hash   uint32 // the note key ID: first 4 bytes of SHA-256(name LF alg key)
	Alg    byte
	Public ed25519.PublicKey
}

// Parse checks vkey and returns its parts. The algorithm must be one of algs.
func Parse(vkey string, algs ...byte) (*Key, error) {
	name, rest, ok1 := strings.Cut(vkey, "+")
	hash16, key64, ok2 := strings.Cut(rest, "+")
	if !ok1 || !ok2 {
		return nil, errors.New("not a verifier key (want name+hash+base64)")
	}
	if !validName(name) {
		return nil, fmt.Errorf("verifier key name %q is not a valid note name (printable UTF-8, no spaces, no +)", name)
	}
	if len(hash16) != 8 || strings.Trim(hash16, "0123456789abcdef") != "" {
		return nil, errors.New("verifier key hash is not 8 lowercase hex digits")
	}
	key, err := b64.Std(key64)
	if err != nil || len(key) != 1+ed25519.PublicKeySize {
		return nil, errors.New("verifier key is not canonical base64 of an algorithm byte and a 32-byte Ed25519 key")
	}
	if !slices.Contains(algs, key[0]) {
		return nil, wrongKind(name, key[0], algs)
	}
	k := &Key{Name: name, Hash: keyHash(name, key), Alg: key[0], Public: ed25519.PublicKey(key[1:])}
	if hash16 != fmt.Sprintf("%08x", k.Hash) {
		return nil, errors.New("verifier key hash does not match its name and key")
	}
	if err := keycheck.Ed25519(k.Public); err != nil {
		return nil, fmt.Errorf("verifier key %q: %w", name, err)
	}
	return k, nil
}

// String is the vkey, as Parse accepts it.
func (k *Key) String() string {
	return fmt.Sprintf("%s+%08x+%s", k.Name, k.Hash, base64.StdEncoding.EncodeToString(append([]byte{k.Alg}, k.Public...)))
}

// validName is sumdb/note's rule (non-empty UTF-8, no Unicode space, no
// '+'), and printable, so a name can be shown in an error or a log line.
func validName(name string) bool {
	return name != "" && utf8.ValidString(name) &&
		!strings.ContainsFunc(name, func(r rune) bool { return unicode.IsSpace(r) || r == '+' || !unicode.IsPrint(r) })
}

func keyHash(name string, key []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name + "\n"))
	h.Write(key)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// kinds names the verifier key types by what holds them.
var kinds = map[byte]string{
	AlgEd25519:       "a log's verifier key (type 0x01, signed-note Ed25519)",
	AlgCosignatureV1: "a witness's verifier key (type 0x04, tlog-cosignature/v1)",
}

// wrongKind says, in one sentence, which kind of key was given and which
// was wanted: a witness vkey passed where a log's is expected is a common
// slip, and the bare type bytes say nothing to a user.
func wrongKind(name string, got byte, want []byte) error {
	is, ok := kinds[got]
	if !ok {
		is = fmt.Sprintf("a verifier key of unknown type 0x%02x", got)
	}
	var wanted []string
	for _, a := range want {
		if k, ok := kinds[a]; ok {
			wanted = append(wanted, k)
		} else {
			wanted = append(wanted, fmt.Sprintf("type 0x%02x", a))
		}
	}
	return fmt.Errorf("%s is %s; this needs %s", name, is, strings.Join(wanted, " or "))
}
