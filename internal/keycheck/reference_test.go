package keycheck

import (
	"bytes"
	"math/big"

	"github.com/oasisprotocol/curve25519-voi/curve"
)

// reference decides acceptance without the fast paths: decode, compress
// the decoded point again and demand the same bytes, multiply by the
// cofactor with explicit doublings and demand something other than the
// identity, then multiply by the group order ℓ with a plain double-and-add
// and demand the identity.
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
	if q.IsIdentity() {
		return false
	}
	return mulByOrder(&p).IsIdentity()
}

// order is ℓ = 2^252 + 27742317777372353535851937790883648493, big-endian.
var order = new(big.Int).SetBytes([]byte{
	0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0x14, 0xde, 0xf9, 0xde, 0xa2, 0xf7, 0x9c, 0xd6, 0x58, 0x12, 0x63, 0x1a, 0x5c, 0xf5, 0xd3, 0xed,
})

func mulByOrder(p *curve.EdwardsPoint) *curve.EdwardsPoint {
	acc := curve.NewEdwardsPoint().Identity()
	for i := order.BitLen() - 1; i >= 0; i-- {
		acc.Add(acc, acc)
		if order.Bit(i) == 1 {
			acc.Add(acc, p)
		}
	}
	return acc
}
