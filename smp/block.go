package smp

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
)

// BlockSize is the fixed size of every block inside TLS: each carries a
// 2-byte payload length, the payload, and zero padding, so an observer
// of the encrypted stream sees only block counts, not message sizes.
const BlockSize = 16 << 10

const maxPayload = BlockSize - 2

// BlockConn frames a stream of transmissions into fixed-size blocks.
// Transmissions may span blocks; the payloads form one stream.
type BlockConn struct {
	net.Conn
	in      [BlockSize]byte
	pending []byte // unread payload of the last block
}

// NewBlockConn frames c.
func NewBlockConn(c net.Conn) *BlockConn { return &BlockConn{Conn: c} }

var errBlock = errors.New("smp: malformed block")

// Read returns payload bytes, reading whole blocks as needed.
func (b *BlockConn) Read(p []byte) (int, error) {
	for len(b.pending) == 0 {
		if _, err := io.ReadFull(b.Conn, b.in[:]); err != nil {
			return 0, err
		}
		n := int(binary.BigEndian.Uint16(b.in[:2]))
		if n > maxPayload {
			return 0, errBlock
		}
		b.pending = b.in[2 : 2+n]
	}
	n := copy(p, b.pending)
	b.pending = b.pending[n:]
	return n, nil
}

// WriteBlocks packs transmissions into as few blocks as they fill and
// writes them in one call.
func (b *BlockConn) WriteBlocks(tx [][]byte) error {
	buf := blockBufs.Get().(*[]byte)
	out := (*buf)[:0]
	start := -1 // where the block being filled begins
	for _, t := range tx {
		for len(t) > 0 {
			if start < 0 {
				start = len(out)
				out = append(out, 0, 0)
			}
			n := min(len(t), start+BlockSize-len(out))
			out = append(out, t[:n]...)
			t = t[n:]
			if len(out)-start == BlockSize {
				binary.BigEndian.PutUint16(out[start:], maxPayload)
				start = -1
			}
		}
	}
	if start >= 0 {
		binary.BigEndian.PutUint16(out[start:], uint16(len(out)-start-2))
		out = append(out, zeroBlock[:start+BlockSize-len(out)]...)
	}
	_, err := b.Conn.Write(out)
	if cap(out) <= maxPooledBlocks*BlockSize {
		*buf = out[:0]
		blockBufs.Put(buf)
	}
	return err
}

// Output buffers are pooled rather than kept per connection: an idle
// connection should not hold one.
var blockBufs = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledBlocks = 8

var zeroBlock [BlockSize]byte

// Write writes p as one or more blocks.
func (b *BlockConn) Write(p []byte) (int, error) {
	if err := b.WriteBlocks([][]byte{p}); err != nil {
		return 0, err
	}
	return len(p), nil
}
