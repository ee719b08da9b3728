package manifest

import "ssms.dev/ssms/signer"

// Covers reports whether e vouches for everything d does: the same payload
// type and payload, and a valid signature by every key of keys that signed
// d. A log answers a submission with an entry it holds when that entry
// covers it (a copy re-signed, reordered or with fewer signatures), so a
// submitter checks the logged entry with Covers before relying on it.
func (e *Envelope) Covers(d *Envelope, keys []*signer.PublicKey) bool {
	if e.PayloadType != d.PayloadType || string(e.Payload) != string(d.Payload) {
		return false
	}
	have := map[string]bool{}
	for _, k := range e.Verify(keys).Signers {
		have[k.ID()] = true
	}
	for _, k := range d.Verify(keys).Signers {
		if !have[k.ID()] {
			return false
		}
	}
	return true
}
