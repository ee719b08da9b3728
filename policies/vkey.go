package policies

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Signature algorithm identifiers of C2SP signed-note verifier keys.
const (
	algEd25519       = 0x01 // C2SP signed-note Ed25519 (logs)
	algCosignatureV1 = 0x04 // C2SP tlog-cosignature/v1 (witnesses)
)

// ParseVKey checks a C2SP signed-note verifier key, name+hash+base64, whose
// algorithm is one of algs, and returns its name. It checks the key hash,
// so a typo in a vkey is caught when the policy is written, not when the
// first checkpoint fails to verify.
func ParseVKey(vkey string, algs ...byte) (string, error) {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		return "", errors.New("not a verifier key (want name+hash+base64)")
	}
	name, hash16, key64 := parts[0], parts[1], parts[2]
	if name == "" || strings.ContainsFunc(name, func(r rune) bool { return unicode.IsSpace(r) || r == '+' || !unicode.IsPrint(r) }) {
		return "", fmt.Errorf("verifier key name %q is not a valid note name", name)
	}
	hash, err := strconv.ParseUint(hash16, 16, 32)
	if err != nil || len(hash16) != 8 {
		return "", errors.New("verifier key hash is not 8 hex digits")
	}
	key, err := base64.StdEncoding.Strict().DecodeString(key64)
	if err != nil || len(key) != 33 {
		return "", errors.New("verifier key is not base64 of an algorithm byte and a 32-byte Ed25519 key")
	}
	if !slices.Contains(algs, key[0]) {
		return "", fmt.Errorf("verifier key algorithm 0x%02x is not accepted here (want one of %x)", key[0], algs)
	}
	h := sha256.New()
	h.Write([]byte(name + "\n"))
	h.Write(key)
	if uint32(hash) != binary.BigEndian.Uint32(h.Sum(nil)) {
		return "", errors.New("verifier key hash does not match its name and key")
	}
	return name, nil
}
