package witness

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// cosignLine signs cp's text with c and returns the signature line.
func cosignLine(t *testing.T, text string, c *Cosigner) string {
	t.Helper()
	s, err := note.Sign(&note.Note{Text: text}, c)
	if err != nil {
		t.Fatal(err)
	}
	_, l, _ := bytes.Cut(s, []byte("\n\n"))
	return string(l)
}

// relabel rewrites a cosignature line as if made by name with the same
// key: cosignature/v1 signs the checkpoint and the time, not the name, and
// the key hash is public arithmetic.
func relabel(line, name string, pub ed25519.PublicKey) string {
	sig, _ := base64.StdEncoding.DecodeString(strings.TrimSuffix(strings.Fields(line)[2], "\n"))
	binary.BigEndian.PutUint32(sig, keyHash(name, pub))
	return "— " + name + " " + base64.StdEncoding.EncodeToString(sig) + "\n"
}

func vkeyOf(name string, pub ed25519.PublicKey) string {
	return fmt.Sprintf("%s+%08x+%s", name, keyHash(name, pub), base64.StdEncoding.EncodeToString(append([]byte{algCosignatureV1}, pub...)))
}

// TestAttackFreshnessFromOneWitness: with quorum 2 and maxCheckpointAge 1h,
// one fresh cosignature and one a year old must not pass: one colluding
// witness would otherwise keep a frozen checkpoint looking fresh.
func TestAttackFreshnessFromOneWitness(t *testing.T) {
	log := newLog(t, "log.example")
	cp := log.grow(t, 3)
	now := time.Now()
	honest, v1 := newCosigner(t, "honest")
	colluding, v2 := newCosigner(t, "colluding")
	honest.now = func() time.Time { return now.AddDate(-1, 0, 0) }
	colluding.now = func() time.Time { return now }
	signed := string(cp.Raw) + cosignLine(t, cp.Note.Text, honest) + cosignLine(t, cp.Note.Text, colluding)
	q, err := CheckQuorum([]byte(signed), []string{v1, v2}, 2, now, time.Hour)
	if !errors.Is(err, ErrStale) {
		t.Fatalf("one fresh and one year-old cosignature passed a quorum of 2: %+v, %v", q, err)
	}
	// The result keeps each witness's time, for the caller's minLogAge.
	if len(q.Cosignatures) != 2 || !q.Cosignatures[0].Time.Equal(now.AddDate(-1, 0, 0).Truncate(time.Second)) {
		t.Errorf("cosignature times not exposed: %+v", q.Cosignatures)
	}
	// With a quorum of 1, the fresh one alone is enough.
	if q, err := CheckQuorum([]byte(signed), []string{v1, v2}, 1, now, time.Hour); err != nil || !q.Fresh.Equal(now.Truncate(time.Second)) {
		t.Fatalf("quorum 1: %+v %v", q, err)
	}
}

// TestAttackRelabelledWitness: one witness key listed under two names, and
// its one cosignature relabelled to the second name, must count once.
func TestAttackRelabelledWitness(t *testing.T) {
	log := newLog(t, "log.example")
	cp := log.grow(t, 3)
	c, v1 := newCosigner(t, "w1")
	pub := c.priv.Public().(ed25519.PublicKey)
	v2 := vkeyOf("w1-again", pub)
	line := cosignLine(t, cp.Note.Text, c)
	signed := string(cp.Raw) + line + relabel(line, "w1-again", pub)
	q, err := CheckQuorum([]byte(signed), []string{v1, v2}, 2, time.Now(), time.Hour)
	if !errors.Is(err, ErrQuorum) {
		t.Fatalf("one witness key under two names met a quorum of 2: %+v, %v", q, err)
	}
}

// TestAttackWeakWitnessKeys: witness vkeys holding the identity point (two
// of its encodings, as two witnesses) let one constant cosignature, valid
// for every checkpoint at any time, meet a quorum of 2.
func TestAttackWeakWitnessKeys(t *testing.T) {
	log := newLog(t, "log.example")
	cp := log.grow(t, 3)
	now := time.Now()
	var vkeys []string
	signed := string(cp.Raw)
	for i, h := range []string{
		"0100000000000000000000000000000000000000000000000000000000000000",
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	} {
		pub, _ := hex.DecodeString(h)
		name := fmt.Sprintf("evil%d", i)
		vkeys = append(vkeys, vkeyOf(name, pub))
		sig := binary.BigEndian.AppendUint32(nil, keyHash(name, pub))
		sig = binary.BigEndian.AppendUint64(sig, uint64(now.Unix()))
		rs, _ := hex.DecodeString("5866666666666666666666666666666666666666666666666666666666666666" +
			"0100000000000000000000000000000000000000000000000000000000000000") // R = B, S = 1
		signed += "— " + name + " " + base64.StdEncoding.EncodeToString(append(sig, rs...)) + "\n"
	}
	q, err := CheckQuorum([]byte(signed), vkeys, 2, now, time.Hour)
	if err == nil {
		t.Fatalf("constant cosignatures under weak keys met a quorum of 2: %+v", q)
	}
	for _, v := range vkeys {
		if _, err := NewVerifier(v); err == nil {
			t.Errorf("weak witness vkey %s accepted", v)
		}
	}
}
