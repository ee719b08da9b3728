package manifest

import (
	"fmt"
	"strings"

	"ssms.dev/ssms/signer"
)

// Verification tells which of a set of trusted keys signed an envelope.
type Verification struct {
	// Signers are the distinct trusted keys with a valid signature, in the
	// order of their first valid signature. A key that signed twice is
	// listed once: thresholds count keys, not signatures.
	Signers []*signer.PublicKey
	// Rejected describes every signature that did not count, and why.
	Rejected []string
}

// Verify checks every signature of e against keys. DSSE key IDs are
// unauthenticated hints and other tools use other conventions (SSH
// fingerprints, KMS names), so: a signature whose key ID names a trusted key
// is checked against that key only; any other signature is tried against
// each trusted key not yet counted. Work is bounded by MaxSignatures times
// the number of keys.
func (e *Envelope) Verify(keys []*signer.PublicKey) Verification {
	pae := PAE(e.PayloadType, e.Payload)
	var v Verification
	counted := map[string]bool{}
	for i, sig := range e.Signatures {
		var key *signer.PublicKey
		if k := findKey(keys, sig.KeyID); k != nil {
			if k.Verify(pae, sig.Sig) == nil {
				key = k
			}
		} else {
			for _, k := range keys {
				if !counted[k.ID()] && k.Verify(pae, sig.Sig) == nil {
					key = k
					break
				}
			}
		}
		switch {
		case key == nil && sig.KeyID != "" && findKey(keys, sig.KeyID) == nil:
			v.Rejected = append(v.Rejected, fmt.Sprintf("signature %d: not by a trusted key (key ID %s)", i, short(sig.KeyID)))
		case key == nil:
			v.Rejected = append(v.Rejected, fmt.Sprintf("signature %d: does not verify", i))
		case counted[key.ID()]:
			v.Rejected = append(v.Rejected, fmt.Sprintf("signature %d: key %s already counted", i, short(key.ID())))
		default:
			counted[key.ID()] = true
			v.Signers = append(v.Signers, key)
		}
	}
	return v
}

func findKey(keys []*signer.PublicKey, id string) *signer.PublicKey {
	for _, k := range keys {
		if k.ID() == id {
			return k
		}
	}
	return nil
}

func short(id string) string {
	if len(id) > 16 {
		return id[:16]
	}
	return strings.ToValidUTF8(id, "?")
}
