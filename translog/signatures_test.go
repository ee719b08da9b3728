package translog

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestOneSignaturePerKey(t *testing.T) {
	// Key hash 00000001 for "a", 00000002 for "b"; 64 bytes of signature.
	sig := func(name string, kh byte, fill string) string {
		return "— " + name + " " + encodeSig(kh, fill) + "\n"
	}
	text := "log.example\n1\nAAAA\n\n"
	a1, a2, b1 := sig("a", 1, "x"), sig("a", 1, "y"), sig("b", 2, "x")
	got := string(OneSignaturePerKey([]byte(text + a1 + b1 + a2)))
	if got != text+b1+a2 {
		t.Errorf("OneSignaturePerKey = %q", got)
	}
	got = string(ReplaceSignatures([]byte(text+a1+b1), a2))
	if got != text+b1+a2 {
		t.Errorf("ReplaceSignatures = %q", got)
	}
	// Another key hash under the same name is another key.
	a3 := sig("a", 3, "x")
	if got := string(ReplaceSignatures([]byte(text+a1), a3)); got != text+a1+a3 {
		t.Errorf("ReplaceSignatures, other key = %q", got)
	}
}

func encodeSig(kh byte, fill string) string {
	b := append([]byte{0, 0, 0, kh}, strings.Repeat(fill, 64)...)
	return base64.StdEncoding.EncodeToString(b)
}
