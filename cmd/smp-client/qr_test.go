package main

import (
	"strings"
	"testing"

	"rsc.io/qr"
)

// TestQRRendersEveryModule reads the half-block drawing back into modules
// and compares them with the code: a scanner sees what the encoder made.
func TestQRRendersEveryModule(t *testing.T) {
	text := "smp://47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU@127.0.0.1:5223/invitation#ek=MCowBQYDK2VuAyEA&sid=AAAA"
	art, err := renderQR(text)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := qr.Encode(text, qr.M)
	lines := strings.Split(strings.TrimSuffix(art, "\n"), "\n")
	const quiet = 2
	light := func(x, y int) bool {
		r := []rune(lines[y/2])[x]
		if y%2 == 0 {
			return r == '█' || r == '▀'
		}
		return r == '█' || r == '▄'
	}
	for y := range code.Size {
		for x := range code.Size {
			if light(x+quiet, y+quiet) == code.Black(x, y) {
				t.Fatalf("module (%d,%d) drawn wrong", x, y)
			}
		}
	}
	for x := range code.Size + 2*quiet {
		if !light(x, 0) || !light(x, 1) {
			t.Fatalf("no quiet zone at column %d", x)
		}
	}
}
