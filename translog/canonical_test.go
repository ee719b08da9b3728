package translog

import (
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// TestAttackBase64LineBreaks: encoding/base64 skips CR and LF even in
// strict mode, so a hash with an embedded "\r" used to parse and re-encode
// to other bytes. Every base64 field of a proof, a checkpoint and a hash
// list must now refuse it.
func TestAttackBase64LineBreaks(t *testing.T) {
	h := encodeHash(tlog.Hash{7})
	withCR := h[:3] + "\r" + h[3:]
	withLF := h[:3] + "\n" + h[3:]
	cp := "log.example\n5\n" + withCR + "\n"
	if _, err := ParseCheckpoint([]byte(cp)); err == nil {
		t.Error("checkpoint with a CR inside its hash line accepted")
	}
	proof := ProofHeader + "\nindex 0\n" + withCR + "\n\nlog.example\n1\n" + h + "\n"
	if _, err := ParseProof([]byte(proof)); err == nil {
		t.Error("proof with a CR inside a hash line accepted")
	}
	extra := ProofHeader + "\nextra AA\r==\nindex 0\n\nlog.example\n1\n" + h + "\n"
	if _, err := ParseProof([]byte(extra)); err == nil {
		t.Error("proof with a CR inside its extra data accepted")
	}
	for _, lines := range [][]byte{
		[]byte(withCR + "\n"),
		[]byte("000\r0000000000000000000000000000000000000000=\n"), // found by FuzzParseHashLines
		[]byte(h + "\r\n"),
	} {
		if _, err := parseHashLines(lines); err == nil {
			t.Errorf("hash lines %q accepted", lines)
		}
	}
	// A line break splitting a hash across two lines is two short lines.
	if _, err := ParseHashLines(strings.Split(withLF, "\n")); err == nil {
		t.Error("hash split over two lines accepted")
	}
}
