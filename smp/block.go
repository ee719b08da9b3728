package smp

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
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
	var out []byte
	var block []byte
	flush := func() {
		if block == nil {
			return
		}
		binary.BigEndian.PutUint16(block[:2], uint16(len(block)-2))
		block = block[:BlockSize] // zero padding: the bytes beyond len were never written
		out = append(out, block...)
		block = nil
	}
	for _, t := range tx {
		for len(t) > 0 {
			if block == nil {
				block = make([]byte, 2, BlockSize)
			}
			n := min(len(t), BlockSize-len(block))
			block = append(block, t[:n]...)
			t = t[n:]
			if len(block) == BlockSize {
				flush()
			}
		}
	}
	flush()
	_, err := b.Conn.Write(out)
	return err
}

// Write writes p as one or more blocks.
func (b *BlockConn) Write(p []byte) (int, error) {
	if err := b.WriteBlocks([][]byte{p}); err != nil {
		return 0, err
	}
	return len(p), nil
}
