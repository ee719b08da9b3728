package client

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"fmt"

	"golang.org/x/crypto/nacl/box"

	"ssms.dev/ssms/signer"
	"ssms.dev/ssms/smp"
)

// Queue is the recipient's side of a queue: its IDs, the recipient key
// that signs commands for it, and the key the server encrypts deliveries
// with.
type Queue struct {
	RecipientID []byte
	SenderID    []byte
	Key         signer.Signer // signs the recipient's commands
	serverBox   *[32]byte     // shared with the server; nil if deliveries are in the clear
}

// CreateQueue creates a queue with a fresh recipient key rk and a fresh
// X25519 key, so the server re-encrypts every delivery to this recipient.
// The creating connection is subscribed to it.
func (c *Conn) CreateQueue(ctx context.Context, rk signer.Signer) (*Queue, error) {
	pub, err := smp.NewKey(rk.Public())
	if err != nil {
		return nil, err
	}
	dh, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	r, err := c.Do(ctx, nil, smp.Conn{RecipientKey: pub, DHKey: dh.PublicKey()}, nil)
	if err != nil {
		return nil, err
	}
	ids, ok := r.(smp.IDs)
	if !ok {
		return nil, fmt.Errorf("%w: CONN answered %T", smp.ErrServerMessage, r)
	}
	if ids.ServerDHKey == nil {
		return nil, fmt.Errorf("%w: the server did not agree to encrypt deliveries", smp.ErrServerMessage)
	}
	q := &Queue{RecipientID: ids.RecipientID, SenderID: ids.SenderID, Key: rk, serverBox: new([32]byte)}
	box.Precompute(q.serverBox, (*[32]byte)(ids.ServerDHKey.Bytes()), (*[32]byte)(dh.Bytes()))
	return q, nil
}

// ServerSecret is the key shared with the server, for saving the queue.
func (q *Queue) ServerSecret() []byte {
	if q.serverBox == nil {
		return nil
	}
	return q.serverBox[:]
}

// RestoreQueue rebuilds a saved queue.
func RestoreQueue(rid, sid []byte, key signer.Signer, serverSecret []byte) *Queue {
	q := &Queue{RecipientID: rid, SenderID: sid, Key: key}
	if len(serverSecret) == 32 {
		q.serverBox = (*[32]byte)(serverSecret)
	}
	return q
}

// ErrServerCipher means a delivery did not decrypt with the key shared
// with the server: it was not made by the server this queue is on.
var ErrServerCipher = errors.New("smp: delivery does not decrypt with the server's key")

// Open removes the server's encryption from a delivered body.
func (q *Queue) Open(m *smp.Msg) ([]byte, error) {
	if q.serverBox == nil {
		return m.Body, nil
	}
	if len(m.Body) < 24+box.Overhead {
		return nil, ErrServerCipher
	}
	body, ok := box.OpenAfterPrecomputation(nil, m.Body[24:], (*[24]byte)(m.Body[:24]), q.serverBox)
	if !ok {
		return nil, ErrServerCipher
	}
	return body, nil
}

// Subscribe makes this connection the queue's subscriber: the first
// message waiting, if any, is delivered.
func (c *Conn) Subscribe(ctx context.Context, q *Queue) error {
	return expectOK(c.Do(ctx, q.RecipientID, smp.Sub{}, q.Key))
}

// Secure sets the sender key: from now on only SENDs it signs are taken.
func (c *Conn) Secure(ctx context.Context, q *Queue, senderKey *signer.PublicKey) error {
	k, err := smp.NewKey(senderKey)
	if err != nil {
		return err
	}
	return expectOK(c.Do(ctx, q.RecipientID, smp.Key{SenderKey: k}, q.Key))
}

// Ack acknowledges the message delivered last; the next one follows.
func (c *Conn) Ack(ctx context.Context, q *Queue) error {
	return expectOK(c.Do(ctx, q.RecipientID, smp.Ack{}, q.Key))
}

// Suspend stops the queue taking messages (HOLD); delivered ones stay.
func (c *Conn) Suspend(ctx context.Context, q *Queue) error {
	return expectOK(c.Do(ctx, q.RecipientID, smp.Hold{}, q.Key))
}

// Delete removes the queue and its messages.
func (c *Conn) Delete(ctx context.Context, q *Queue) error {
	return expectOK(c.Do(ctx, q.RecipientID, smp.Del{}, q.Key))
}

// Send sends body to the queue with sender ID sid, signed with key (nil
// for the one unsigned confirmation before the queue is secured).
func (c *Conn) Send(ctx context.Context, sid []byte, key signer.Signer, body []byte) error {
	if len(body) > smp.MaxBody {
		return fmt.Errorf("smp: body of %d bytes; the limit is %d", len(body), smp.MaxBody)
	}
	return expectOK(c.Do(ctx, sid, smp.Send{Body: body, Binary: true}, key))
}
