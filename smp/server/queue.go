package server

import (
	"crypto/rand"
	"crypto/subtle"
	"time"

	"ssms.dev/ssms/smp"
)

// id is a 128-bit queue ID from a CSPRNG.
type id [16]byte

func newID() id {
	var i id
	rand.Read(i[:])
	return i
}

func toID(b []byte) (id, bool) {
	var i id
	if len(b) != len(i) {
		return i, false
	}
	copy(i[:], b)
	return i, true
}

// queue is one simplex connection.
type queue struct {
	rid, sid  id
	rkey      *smp.PublicKey
	skey      *smp.PublicKey // nil until KEY
	suspended bool
	heldAt    time.Time // when HOLD arrived
	msgs      []message // FIFO; msgs[0] is in flight when delivered
	bytes     int       // the bodies' total size
	delivered bool      // msgs[0] was sent and awaits ACK
	sub       *client   // the subscribed transport connection, if any
	owner     *owned    // the count of the connection that created it; nil if replayed
	box       *[32]byte // crypto_box key shared with the recipient, if it gave a DH key
	verified  *verifiedTx
}

// verifiedTx is the last recipient transmission whose signature checked
// out. Verification is a pure function of the key, the signed bytes and
// the signature, and the recipient key never changes, so the same
// transmission again needs no second verification. ACK is: it names no
// message, and Ed25519 signatures are deterministic. This halves the
// signature work per message delivered.
type verifiedTx struct{ signed, sig []byte }

// maxVerifiedTx bounds what a queue keeps of a transmission for this.
const maxVerifiedTx = 256

func (v *verifiedTx) matches(signed, sig []byte) bool {
	return v != nil && len(v.signed) == len(signed) && len(v.sig) == len(sig) &&
		subtle.ConstantTimeCompare(v.signed, signed)&subtle.ConstantTimeCompare(v.sig, sig) == 1
}

type message struct {
	received time.Time
	body     []byte
	binary   bool
}
