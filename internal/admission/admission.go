// Package admission decides which entries a log accepts: a DSSE envelope
// in canonical encoding whose every signature verifies under a distinct
// maintainer or rebuilder key of a policy the log serves, named by its key
// ID. This is spam control, not trust: verifiers check thresholds
// themselves. The rules leave an outsider nothing to add: a copy of a
// public envelope in another spelling is not canonical, a junk or unknown
// signature is refused, and a logged envelope with signatures reordered,
// re-made or dropped is the same entry, also after a rotation removed one
// of its keys (LoggedClaim), and a stolen key paired with logged
// signatures is charged alone (see translog.Claim).
package admission

import (
	"crypto/sha256"
	"fmt"
	"slices"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/signer"
	"ssms.dev/ssms/translog"
)

// Policy admits envelopes signed by keys of its policies.
type Policy struct {
	keys map[string]*signer.PublicKey // by key ID
}

// New admits for the given policies.
func New(pols []*policies.Policy) *Policy {
	a := &Policy{keys: map[string]*signer.PublicKey{}}
	for _, p := range pols {
		for _, k := range append(append([]*signer.PublicKey{}, p.MaintainerKeys()...), p.RebuilderKeys()...) {
			a.keys[k.ID()] = k
		}
	}
	return a
}

// Admit implements translog.Admitter. The claim's subject is the SHA-256 of
// PAE(payloadType, payload), its keys the signers' key IDs.
func (a *Policy) Admit(entry []byte) (translog.Claim, error) {
	env, err := manifest.ParseCanonicalEnvelope(entry)
	if err != nil {
		return translog.Claim{}, err
	}
	if len(env.Signatures) == 0 {
		return translog.Claim{}, fmt.Errorf("%w: the envelope has no signature", translog.ErrNotAdmitted)
	}
	// Names and distinctness first: they cost nothing, and an outsider
	// then cannot make the log verify anything.
	ids := make([]string, 0, len(env.Signatures))
	for i, sig := range env.Signatures {
		if a.keys[sig.KeyID] == nil {
			return translog.Claim{}, fmt.Errorf("%w: signature %d: key ID %q is not a maintainer or rebuilder key of a policy this log serves", translog.ErrNotAdmitted, i, short(sig.KeyID))
		}
		if slices.Contains(ids, sig.KeyID) {
			return translog.Claim{}, fmt.Errorf("%w: signature %d: key %s signed twice", translog.ErrNotAdmitted, i, short(sig.KeyID))
		}
		ids = append(ids, sig.KeyID)
	}
	pae := manifest.PAE(env.PayloadType, env.Payload)
	for i, sig := range env.Signatures {
		if err := a.keys[sig.KeyID].Verify(pae, sig.Sig); err != nil {
			return translog.Claim{}, fmt.Errorf("%w: signature %d does not verify under key %s", translog.ErrNotAdmitted, i, short(sig.KeyID))
		}
	}
	slices.Sort(ids)
	return translog.Claim{Subject: sha256.Sum256(pae), Keys: ids}, nil
}

// LoggedClaim implements translog.LoggedClaimer: the subject of an entry
// the log holds, in any encoding, and the keys of the served policies whose
// signatures on it verify; signatures by other keys (a key a rotation
// removed) or that do not verify are ignored. So a logged envelope still
// covers every subset of its signatures that Admit would take now.
func (a *Policy) LoggedClaim(entry []byte) (translog.Claim, bool) {
	env, err := manifest.ParseEnvelope(entry)
	if err != nil {
		return translog.Claim{}, false
	}
	pae := manifest.PAE(env.PayloadType, env.Payload)
	var ids []string
	for _, sig := range env.Signatures {
		// By the key ID hint only, as Admit: it admits no other signature.
		k := a.keys[sig.KeyID]
		if k != nil && !slices.Contains(ids, sig.KeyID) && k.Verify(pae, sig.Sig) == nil {
			ids = append(ids, sig.KeyID)
		}
	}
	slices.Sort(ids)
	return translog.Claim{Subject: sha256.Sum256(pae), Keys: ids}, true
}

func short(id string) string {
	if len(id) > 16 {
		id = id[:16]
	}
	return id
}
