package keycheck

import (
	"bytes"

	"github.com/oasisprotocol/curve25519-voi/curve"
)

// reference decides acceptance without the fast paths: decode, compress
// the decoded point again and demand the same bytes, then multiply by the
// cofactor with explicit doublings and demand something other than the
// identity.
func reference(b []byte) bool {
	if len(b) != 32 {
		return false
	}
	var c curve.CompressedEdwardsY
	copy(c[:], b)
	var p curve.EdwardsPoint
	if _, err := p.SetCompressedY(&c); err != nil {
		return false
	}
	var back curve.CompressedEdwardsY
	back.SetEdwardsPoint(&p)
	if !bytes.Equal(back[:], b) {
		return false
	}
	q := curve.NewEdwardsPoint().Set(&p)
	for range 3 {
		q.Add(q, q)
	}
	return !q.IsIdentity()
}
