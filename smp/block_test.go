package smp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"testing"
)

// recorder is a net.Conn that keeps what is written to it.
type recorder struct {
	net.Conn
	bytes.Buffer
}

func (r *recorder) Write(p []byte) (int, error) { return r.Buffer.Write(p) }
func (r *recorder) Read(p []byte) (int, error)  { return r.Buffer.Read(p) }

// TestBlocks: transmissions of any size come back as one stream, in
// blocks of exactly BlockSize whose padding is zero.
func TestBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		var tx [][]byte
		var want []byte
		for range 1 + rng.IntN(6) {
			n := rng.IntN(3 * BlockSize)
			if round%7 == 0 {
				n = maxPayload // exactly one block's payload
			}
			p := make([]byte, n)
			for i := range p {
				p[i] = byte(1 + rng.IntN(255))
			}
			tx, want = append(tx, p), append(want, p...)
		}
		rec := &recorder{}
		if err := NewBlockConn(rec).WriteBlocks(tx); err != nil {
			t.Fatal(err)
		}
		wire := rec.Bytes()
		if len(wire)%BlockSize != 0 || len(wire) == 0 {
			t.Fatalf("round %d: %d bytes on the wire, not whole blocks", round, len(wire))
		}
		for b := wire; len(b) > 0; b = b[BlockSize:] {
			n := int(binary.BigEndian.Uint16(b))
			if n > maxPayload || bytes.ContainsFunc(b[2+n:BlockSize], func(r rune) bool { return r != 0 }) {
				t.Fatalf("round %d: a block says %d bytes, or its padding is not zero", round, n)
			}
		}
		got, err := io.ReadAll(NewBlockConn(rec))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("round %d: read back %d bytes (%v), wrote %d", round, len(got), err, len(want))
		}
	}
}

func TestBlockTooLong(t *testing.T) {
	rec := &recorder{}
	block := make([]byte, BlockSize)
	binary.BigEndian.PutUint16(block, maxPayload+1)
	rec.Write(block)
	if _, err := NewBlockConn(rec).Read(make([]byte, 10)); !errors.Is(err, errBlock) {
		t.Fatalf("a block claiming %d bytes: %v", maxPayload+1, err)
	}
}

// FuzzBlockRead: whatever arrives, Read returns only what the blocks
// declare, or an error.
func FuzzBlockRead(f *testing.F) {
	rec := &recorder{}
	NewBlockConn(rec).WriteBlocks([][]byte{[]byte("\nAAAA\nOK\n"), bytes.Repeat([]byte("x"), BlockSize)})
	f.Add(rec.Bytes())
	f.Add(make([]byte, BlockSize))
	f.Add([]byte{0xff, 0xff})
	f.Fuzz(func(t *testing.T, wire []byte) {
		var want []byte
		for b := wire; len(b) >= BlockSize; b = b[BlockSize:] {
			n := int(binary.BigEndian.Uint16(b))
			if n > maxPayload {
				break
			}
			want = append(want, b[2:2+n]...)
		}
		got, _ := io.ReadAll(NewBlockConn(&recorder{Buffer: *bytes.NewBuffer(wire)}))
		if !bytes.Equal(got, want) {
			t.Fatalf("read %d bytes, the blocks declare %d", len(got), len(want))
		}
	})
}
