package witness

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"ssms.dev/ssms/internal/b64"
	"ssms.dev/ssms/internal/vkey"
)

// algCosignatureV1 is the signature type of Ed25519 C2SP tlog-cosignature/v1
// keys, as in their vkeys and key IDs.
const algCosignatureV1 = 0x04

// Cosigner makes C2SP tlog-cosignature/v1 Ed25519 cosignatures. It
// implements golang.org/x/mod/sumdb/note's Signer, so a cosignature is a
// note signature line like any other.
type Cosigner struct {
	name string
	hash uint32
	priv ed25519.PrivateKey
	now  func() time.Time
}

// GenerateKey makes a cosigner key named name and returns it as a private
// key string (kept by the witness) and a vkey (published).
func GenerateKey(name string) (skey, vkey string, err error) {
	if name == "" || strings.ContainsAny(name, "+ \n\t") {
		return "", "", fmt.Errorf("witness name %q is not a valid note key name", name)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", err
	}
	h := keyHash(name, pub)
	skey = fmt.Sprintf("PRIVATE+KEY+%s+%08x+%s", name, h, base64.StdEncoding.EncodeToString(append([]byte{algCosignatureV1}, priv.Seed()...)))
	vkey = fmt.Sprintf("%s+%08x+%s", name, h, base64.StdEncoding.EncodeToString(append([]byte{algCosignatureV1}, pub...)))
	return skey, vkey, nil
}

// NewCosigner parses a private key made by GenerateKey.
func NewCosigner(skey string) (*Cosigner, error) {
	parts := strings.SplitN(skey, "+", 5)
	bad := errors.New("malformed witness private key")
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return nil, bad
	}
	key, err := b64.Std(parts[4])
	if err != nil || len(key) != 1+ed25519.SeedSize || key[0] != algCosignatureV1 {
		return nil, bad
	}
	priv := ed25519.NewKeyFromSeed(key[1:])
	h := keyHash(parts[2], priv.Public().(ed25519.PublicKey))
	if parts[3] != fmt.Sprintf("%08x", h) {
		return nil, bad
	}
	// The name must be one a verifier accepts (valid UTF-8, printable), or
	// every cosignature would be refused by the witness's own clients.
	pub := &vkey.Key{Name: parts[2], Hash: h, Alg: algCosignatureV1, Public: priv.Public().(ed25519.PublicKey)}
	if _, err := vkey.Parse(pub.String(), algCosignatureV1); err != nil {
		return nil, fmt.Errorf("%w: %v", bad, err)
	}
	return &Cosigner{name: parts[2], hash: h, priv: priv, now: time.Now}, nil
}

func keyHash(name string, pub ed25519.PublicKey) uint32 {
	h := sha256.New()
	h.Write([]byte(name + "\n"))
	h.Write([]byte{algCosignatureV1})
	h.Write(pub)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// Name is the cosigner's name.
func (c *Cosigner) Name() string { return c.name }

// KeyHash is the note key ID.
func (c *Cosigner) KeyHash() uint32 { return c.hash }

// Sign cosigns a checkpoint body: timestamp || Ed25519("cosignature/v1\n"
// "time T\n" body), as tlog-cosignature/v1 specifies.
func (c *Cosigner) Sign(body []byte) ([]byte, error) {
	t := c.now().Unix()
	msg := append([]byte("cosignature/v1\ntime "+strconv.FormatInt(t, 10)+"\n"), body...)
	sig := binary.BigEndian.AppendUint64(nil, uint64(t))
	return append(sig, ed25519.Sign(c.priv, msg)...), nil
}
