package policies

import (
	"ssms.dev/ssms/internal/vkey"
)

// Signature algorithm identifiers of C2SP signed-note verifier keys.
const (
	algEd25519       = vkey.AlgEd25519       // logs
	algCosignatureV1 = vkey.AlgCosignatureV1 // witnesses
)

// ParseVKey checks a C2SP signed-note verifier key, name+hash+base64, whose
// algorithm is one of algs, and returns its name. It checks the key hash,
// so a typo in a vkey is caught when the policy is written, not when the
// first checkpoint fails to verify, and refuses weak keys and any spelling
// but the canonical one (see internal/vkey).
func ParseVKey(v string, algs ...byte) (string, error) {
	k, err := vkey.Parse(v, algs...)
	if err != nil {
		return "", err
	}
	return k.Name, nil
}
