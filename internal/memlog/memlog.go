// Package memlog is a transparency log in memory, with witnesses, for
// tests and test vectors: it signs any checkpoint it is asked for (of any
// size, any root, cosigned at any time), so that tests can build the
// honest, stale, forked and mixed views a verifier must tell apart. Its
// signatures follow the C2SP specifications (signed-note, tlog-checkpoint,
// tlog-cosignature/v1) written out here, not borrowed from the code under
// test.
package memlog

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"ssms.dev/ssms/translog"
)

// Log is an append-only list of entries with its Merkle tree.
type Log struct {
	Origin  string
	VKey    string // the log's verifier key
	signer  note.Signer
	entries [][]byte
	hashes  []tlog.Hash // stored hashes, in tlog's layout
}

// New is an empty log whose Ed25519 key is derived from seed: the same
// seed, the same key.
func New(origin string, seed [32]byte) *Log {
	priv := ed25519.NewKeyFromSeed(seed[:])
	key := append([]byte{0x01}, priv.Public().(ed25519.PublicKey)...)
	h := keyHash(origin, key)
	skey := fmt.Sprintf("PRIVATE+KEY+%s+%08x+%s", origin, h, base64.StdEncoding.EncodeToString(append([]byte{0x01}, seed[:]...)))
	s, err := note.NewSigner(skey)
	if err != nil {
		panic(err)
	}
	return &Log{Origin: origin, VKey: fmt.Sprintf("%s+%08x+%s", origin, h, base64.StdEncoding.EncodeToString(key)), signer: s}
}

// Add appends entry and returns its index.
func (l *Log) Add(entry []byte) int64 {
	n := int64(len(l.entries))
	hs, err := tlog.StoredHashes(n, entry, l)
	if err != nil {
		panic(err)
	}
	l.entries = append(l.entries, entry)
	l.hashes = append(l.hashes, hs...)
	return n
}

// Size is the number of entries.
func (l *Log) Size() int64 { return int64(len(l.entries)) }

// Entry is entry i.
func (l *Log) Entry(i int64) []byte { return l.entries[i] }

// ReadHashes makes the log a tlog.HashReader.
func (l *Log) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		out[i] = l.hashes[x]
	}
	return out, nil
}

// Root is the root of the tree of the first n entries.
func (l *Log) Root(n int64) tlog.Hash {
	h, err := tlog.TreeHash(n, l)
	if err != nil {
		panic(err)
	}
	return h
}

// Checkpoint signs the tree of the first n entries, cosigned by each
// witness in ws at its time in at (a witness without a time does not
// cosign).
func (l *Log) Checkpoint(n int64, ws []*Witness, at map[string]time.Time) []byte {
	return l.SignTree(n, l.Root(n), ws, at)
}

// SignTree signs any tree: size n with root, which need not be this log's.
func (l *Log) SignTree(n int64, root tlog.Hash, ws []*Witness, at map[string]time.Time) []byte {
	text := string(translog.Checkpoint{Origin: l.Origin, Size: n, Hash: root}.Marshal())
	signed, err := note.Sign(&note.Note{Text: text}, l.signer)
	if err != nil {
		panic(err)
	}
	for _, w := range ws {
		if t, ok := at[w.Name]; ok && !t.IsZero() {
			signed = append(signed, w.Cosign(text, t)...)
		}
	}
	return signed
}

// Proof is the C2SP tlog-proof of entry i in the tree of the signed
// checkpoint cp.
func (l *Log) Proof(i int64, cp []byte) string {
	body, _, _ := strings.Cut(string(cp), "\n\n")
	c, err := translog.ParseCheckpoint([]byte(body + "\n"))
	if err != nil {
		panic(err)
	}
	hs, err := tlog.ProveRecord(c.Size, i, l)
	if err != nil {
		panic(err)
	}
	return string((&translog.Proof{Index: i, Hashes: hs, Checkpoint: cp}).Marshal())
}

// Consistency is the RFC 6962 proof from size m to size n.
func (l *Log) Consistency(m, n int64) []tlog.Hash {
	hs, err := tlog.ProveTree(n, m, l)
	if err != nil {
		panic(err)
	}
	return hs
}

// Encode is hashes in standard base64, as bundles carry them.
func Encode(hs []tlog.Hash) []string {
	out := []string{}
	for _, h := range hs {
		out = append(out, translog.EncodeHash(h))
	}
	return out
}

// Witness is a tlog-cosignature/v1 signer.
type Witness struct {
	Name string
	VKey string
	priv ed25519.PrivateKey
}

// NewWitness is a witness whose key is derived from seed.
func NewWitness(name string, seed [32]byte) *Witness {
	priv := ed25519.NewKeyFromSeed(seed[:])
	key := append([]byte{0x04}, priv.Public().(ed25519.PublicKey)...)
	return &Witness{Name: name, priv: priv, VKey: fmt.Sprintf("%s+%08x+%s", name, keyHash(name, key), base64.StdEncoding.EncodeToString(key))}
}

// Cosign is the signature line of w over a checkpoint's text at time t:
// key hash, timestamp and Ed25519("cosignature/v1\ntime T\n" text).
func (w *Witness) Cosign(text string, t time.Time) string {
	ts := t.Unix()
	msg := "cosignature/v1\ntime " + strconv.FormatInt(ts, 10) + "\n" + text
	key := append([]byte{0x04}, w.priv.Public().(ed25519.PublicKey)...)
	sig := binary.BigEndian.AppendUint32(nil, keyHash(w.Name, key))
	sig = binary.BigEndian.AppendUint64(sig, uint64(ts))
	sig = append(sig, ed25519.Sign(w.priv, []byte(msg))...)
	return "— " + w.Name + " " + base64.StdEncoding.EncodeToString(sig) + "\n"
}

// keyHash is a signed-note key hash: the first four bytes of
// SHA-256(name, newline, key).
func keyHash(name string, key []byte) uint32 {
	h := sha256.Sum256(append([]byte(name+"\n"), key...))
	return binary.BigEndian.Uint32(h[:4])
}
