// Package b64 decodes base64 fields that the project signs, verifies or
// compares, accepting only the one canonical encoding of each value.
//
// encoding/base64 is lenient even in strict mode: it skips CR and LF
// anywhere in the input, so "AA\rAA" and "AAAA" decode to the same bytes.
// A parser built on it accepts inputs that re-encode to other bytes, which
// breaks every "parse, then marshal gives back the input" property and lets
// one signed value travel under several spellings. Every base64 field in
// the project goes through this package instead.
package b64

import (
	"encoding/base64"
	"errors"
)

// ErrNotCanonical reports input that is not the canonical encoding of any
// byte string: a character outside the alphabet, a line break, wrong or
// missing padding, or non-zero padding bits.
var ErrNotCanonical = errors.New("not canonical base64")

// Std decodes s as standard base64 with padding (RFC 4648 section 4) and
// succeeds only if s is exactly what base64.StdEncoding produces for the
// result.
func Std(s string) ([]byte, error) { return decode(std, s) }

// RawURL decodes s as unpadded URL-safe base64 (RFC 4648 section 5) and
// succeeds only if s is exactly what base64.RawURLEncoding produces.
func RawURL(s string) ([]byte, error) { return decode(rawURL, s) }

// Strict returns a copy of the encoding, so it is made once.
var (
	std    = base64.StdEncoding.Strict()
	rawURL = base64.RawURLEncoding.Strict()
)

func decode(enc *base64.Encoding, s string) ([]byte, error) {
	b, err := enc.DecodeString(s)
	if err != nil {
		return nil, ErrNotCanonical
	}
	// Strict still skips '\r' and '\n'; nothing else slips through, so a
	// length check is the whole re-encoding comparison.
	if enc.EncodedLen(len(b)) != len(s) {
		return nil, ErrNotCanonical
	}
	return b, nil
}
