package agent

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/nacl/box"

	"ssms.dev/ssms/internal/b64"
	"ssms.dev/ssms/internal/strictjson"
	"ssms.dev/ssms/signer"
	"ssms.dev/ssms/smp"
)

// WireSize is the size of every body this client sends: a confirmation
// or a message, one word or a page, all look the same to the server.
const WireSize = smp.MaxBody

const (
	nonceSize       = 24
	messageRoom     = WireSize - nonceSize - box.Overhead // padded plaintext of a message
	confirmRoom     = WireSize - box.AnonymousOverhead    // padded plaintext of a confirmation
	maxMessage      = messageRoom - 2                     // an encoded message, padded
	MaxText         = maxMessage - 512                    // text that fits with its header, unless JSON escapes it
	maxConfirmation = confirmRoom - 2
)

// ErrDecrypt means a body did not decrypt: not from the peer, or altered.
var ErrDecrypt = errors.New("does not decrypt")

// pad puts b in a fixed-size buffer: 2-byte length, b, zeros.
func pad(b []byte, size int) ([]byte, error) {
	if len(b) > size-2 {
		return nil, fmt.Errorf("%d bytes do not fit in %d", len(b), size-2)
	}
	out := make([]byte, size)
	binary.BigEndian.PutUint16(out, uint16(len(b)))
	copy(out[2:], b)
	return out, nil
}

func unpad(b []byte) ([]byte, error) {
	if len(b) < 2 {
		return nil, errors.New("padding: too short")
	}
	n := int(binary.BigEndian.Uint16(b))
	if n > len(b)-2 {
		return nil, errors.New("padding: length beyond the buffer")
	}
	for _, z := range b[2+n:] {
		if z != 0 {
			return nil, errors.New("padding: not zeros")
		}
	}
	return b[2 : 2+n], nil
}

// Confirmation is the sender's first message to a new queue, encrypted to
// the queue's encryption key: "KEY <senderKey>" LF body, where the body
// carries the sender's end-to-end key for this queue and, when the sender
// wants a conversation, the invitation to its own queue for the answers.
type Confirmation struct {
	SenderKey *signer.PublicKey
	Body      ConfirmationBody
}

// ConfirmationBody is the application part of a confirmation.
type ConfirmationBody struct {
	DH    string `json:"dh"`              // the sender's X25519 key for this queue, base64 SPKI
	Reply string `json:"reply,omitempty"` // an invitation to the sender's queue
	Name  string `json:"name,omitempty"`  // how the sender introduces itself
}

// SealConfirmation encrypts a confirmation to the queue's key (a sealed
// box: only the recipient can open it, and nothing says who sent it).
func SealConfirmation(c *Confirmation, to *ecdh.PublicKey) ([]byte, error) {
	if err := checkX25519(to); err != nil {
		return nil, fmt.Errorf("confirmation: the queue's encryption key: %w", err)
	}
	plain, err := c.marshal()
	if err != nil {
		return nil, err
	}
	padded, err := pad(plain, confirmRoom)
	if err != nil {
		return nil, fmt.Errorf("confirmation: %w", err)
	}
	return box.SealAnonymous(nil, padded, (*[32]byte)(to.Bytes()), rand.Reader)
}

// OpenConfirmation decrypts and parses a confirmation with the queue's
// encryption key. Anything else fails, and the recipient ignores it.
func OpenConfirmation(sealed []byte, ek *ecdh.PrivateKey) (*Confirmation, error) {
	pub := ek.PublicKey().Bytes()
	padded, ok := box.OpenAnonymous(nil, sealed, (*[32]byte)(pub), (*[32]byte)(ek.Bytes()))
	if !ok {
		return nil, fmt.Errorf("confirmation %w", ErrDecrypt)
	}
	plain, err := unpad(padded)
	if err != nil {
		return nil, fmt.Errorf("confirmation: %w", err)
	}
	return ParseConfirmation(plain)
}

// marshal is the confirmation's plaintext: "KEY " key LF body, the body
// in strictjson's canonical form.
func (c *Confirmation) marshal() ([]byte, error) {
	k, err := smp.NewKey(c.SenderKey)
	if err != nil {
		return nil, err
	}
	body, err := strictjson.Marshal(c.Body)
	if err != nil {
		return nil, err
	}
	return append([]byte("KEY "+k.String()+"\n"), body...), nil
}

// ParseConfirmation parses a decrypted confirmation: only what marshal
// writes, so that one confirmation has one encoding. The sender key is
// checked as every SMP key is (no weak keys).
func ParseConfirmation(plain []byte) (*Confirmation, error) {
	line, body, ok := strings.Cut(string(plain), "\n")
	key, isKey := strings.CutPrefix(line, "KEY ")
	if !ok || !isKey {
		return nil, errors.New(`confirmation: want "KEY <senderKey>" LF body`)
	}
	k, err := smp.ParseKey(key)
	if err != nil {
		return nil, errors.New("confirmation: senderKey: not a base64 DER SPKI Ed25519 or RSA key")
	}
	c := &Confirmation{SenderKey: k.Signer()}
	if err := strictjson.Decode([]byte(body), &c.Body, maxConfirmation); err != nil {
		return nil, fmt.Errorf("confirmation body: %w", err)
	}
	if err := strictjson.Canonical([]byte(body), &c.Body); err != nil {
		return nil, fmt.Errorf("confirmation body: %w", err)
	}
	if _, err := parseDHKey(c.Body.DH); err != nil {
		return nil, fmt.Errorf("confirmation body: dh: %w", err)
	}
	if c.Body.Reply != "" {
		if _, err := ParseInvitation(c.Body.Reply); err != nil {
			return nil, fmt.Errorf("confirmation body: reply: %w", err)
		}
	}
	if len(c.Body.Name) > 64 {
		return nil, errors.New("confirmation body: name: longer than 64 bytes")
	}
	return c, nil
}

// Message is what travels in a secured queue, inside the encryption.
type Message struct {
	Seq    uint64 `json:"seq"`              // 1, 2, … per queue
	Prev   string `json:"prev"`             // base64 SHA-256 of the previous message's plaintext; "" for the first
	Kind   string `json:"kind"`             // "hello" (the queue works both ways now) or "text"
	Text   string `json:"text,omitempty"`   // for "text"
	Resync bool   `json:"resync,omitempty"` // the sender restarted after a crash: seq jumped, prev is unknown
	Epoch  string `json:"epoch,omitempty"`  // the sender's count since its last restart: 16 random bytes, base64url
}

// Kinds of messages.
const (
	KindHello = "hello"
	KindText  = "text"
)

// sealMessage encrypts a message's plaintext with the key the two ends of
// a queue share, after padding it to the one size every body has.
func sealMessage(plain []byte, shared *[32]byte) ([]byte, error) {
	padded, err := pad(plain, messageRoom)
	if err != nil {
		return nil, fmt.Errorf("message: %w", err)
	}
	var nonce [nonceSize]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, err
	}
	return box.SealAfterPrecomputation(nonce[:], padded, &nonce, shared), nil
}

// openMessage decrypts a body and returns the message's plaintext.
func openMessage(body []byte, shared *[32]byte) ([]byte, error) {
	if len(body) < nonceSize+box.Overhead {
		return nil, fmt.Errorf("message %w", ErrDecrypt)
	}
	padded, ok := box.OpenAfterPrecomputation(nil, body[nonceSize:], (*[nonceSize]byte)(body[:nonceSize]), shared)
	if !ok {
		return nil, fmt.Errorf("message %w", ErrDecrypt)
	}
	return unpad(padded)
}

// ParseMessage parses a decrypted message: only what marshalMessage
// writes, so a message that parses re-encodes to the same bytes, within
// the size limit (raw U+2028 in a text, say, is escaped to six bytes: a
// text of them would parse and then not fit).
func ParseMessage(plain []byte) (*Message, error) {
	var m Message
	if err := strictjson.Decode(plain, &m, maxMessage); err != nil {
		return nil, fmt.Errorf("message: %w", err)
	}
	if err := strictjson.Canonical(plain, &m); err != nil {
		return nil, fmt.Errorf("message: %w", err)
	}
	switch {
	case m.Seq == 0 || m.Seq > maxSeq:
		return nil, fmt.Errorf("message: seq: must be 1 to %d", uint64(maxSeq))
	case m.Kind != KindHello && m.Kind != KindText:
		return nil, fmt.Errorf("message: kind: %q", m.Kind)
	case len(m.Text) > MaxText:
		return nil, fmt.Errorf("message: text: over %d bytes", MaxText)
	case m.Epoch != "" && !validEpoch(m.Epoch):
		return nil, fmt.Errorf("message: epoch: not %d bytes in unpadded base64url", epochSize)
	}
	return &m, nil
}

func validEpoch(s string) bool {
	b, err := b64.RawURL(s)
	return err == nil && len(b) == epochSize
}

// sharedKey is the crypto_box key between our private and their public key.
func sharedKey(priv *ecdh.PrivateKey, pub *ecdh.PublicKey) *[32]byte {
	k := new([32]byte)
	box.Precompute(k, (*[32]byte)(pub.Bytes()), (*[32]byte)(priv.Bytes()))
	return k
}
