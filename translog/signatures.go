package translog

import (
	"bytes"
	"encoding/base64"
	"strings"
)

// A witness re-cosigns an unchanged checkpoint every round (hourly on an
// idle log, and at every restart). Appending each round's line next to the
// older ones would grow the note until sumdb/note refuses it (100
// signatures), freezing the checkpoint's freshness. So a published note
// carries at most one signature line per key: a newer line from the same
// key replaces the older one.

// sigKey identifies the key of a note signature line "— name base64\n":
// its name and the 4-byte key hash that starts the signature.
func sigKey(line string) (string, bool) {
	rest, ok := strings.CutPrefix(line, "— ")
	if !ok {
		return "", false
	}
	name, b64, ok := strings.Cut(strings.TrimSuffix(rest, "\n"), " ")
	if !ok {
		return "", false
	}
	sig, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(sig) < 4 {
		return "", false
	}
	return name + " " + string(sig[:4]), true
}

// splitNote cuts a signed note into its text (with the blank line) and its
// signature lines, each with its newline. ok is false if there is no blank
// line.
func splitNote(signed []byte) (text []byte, lines []string, ok bool) {
	i := bytes.LastIndex(signed, []byte("\n\n"))
	if i < 0 {
		return nil, nil, false
	}
	return signed[:i+2], strings.SplitAfter(string(signed[i+2:]), "\n"), true
}

// ReplaceSignatures returns signed with lines appended, each first removing
// every signature line of signed by the same key (name and key hash). Lines
// that do not parse as signature lines are appended as they are.
func ReplaceSignatures(signed []byte, lines ...string) []byte {
	text, old, ok := splitNote(signed)
	if !ok {
		return signed
	}
	replaced := map[string]bool{}
	for _, l := range lines {
		if k, ok := sigKey(l); ok {
			replaced[k] = true
		}
	}
	out := bytes.Clone(text)
	for _, l := range old {
		if k, ok := sigKey(l); ok && replaced[k] {
			continue
		}
		out = append(out, l...)
	}
	for _, l := range lines {
		out = append(out, l...)
	}
	return out
}

// OneSignaturePerKey returns signed keeping, for each key, only its last
// signature line: the newest, as lines are appended.
func OneSignaturePerKey(signed []byte) []byte {
	text, lines, ok := splitNote(signed)
	if !ok {
		return signed
	}
	last := map[string]int{}
	for i, l := range lines {
		if k, ok := sigKey(l); ok {
			last[k] = i
		}
	}
	out := bytes.Clone(text)
	for i, l := range lines {
		if k, ok := sigKey(l); ok && last[k] != i {
			continue
		}
		out = append(out, l...)
	}
	return out
}
