package server

import (
	"crypto/rand"
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
	delivered bool      // msgs[0] was sent and awaits ACK
	sub       *client   // the subscribed transport connection, if any
	box       *[32]byte // crypto_box key shared with the recipient, if it gave a DH key
}

type message struct {
	received time.Time
	body     []byte
	binary   bool
}
