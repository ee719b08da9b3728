package smp

import (
	"strings"
	"testing"
)

// TestParseAddressCanonical: the fingerprint in an address is accepted in
// its one base64url spelling only, so one server has one address.
func TestParseAddressCanonical(t *testing.T) {
	fp := Fingerprint([]byte("ca"))
	if _, err := ParseAddress("smp://" + fp + "@example.org"); err != nil {
		t.Fatal(err)
	}
	last := fp[len(fp)-1]
	other := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", last) ^ 1 // a padding bit set
	for _, bad := range []string{
		fp[:len(fp)-1] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[other]),
		fp + "=",
		fp[:10] + "%0A" + fp[10:],
	} {
		if _, err := ParseAddress("smp://" + bad + "@example.org"); err == nil {
			t.Errorf("fingerprint %q accepted", bad)
		}
	}
}
