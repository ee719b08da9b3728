// Command genvectors writes the test vectors in testdata/: keys, policies
// and release envelopes, valid and invalid, and index.json, which says for
// each file what a verifier must conclude. Everything is deterministic
// (Ed25519 keys from fixed seeds, fixed times), so running it again gives
// the same bytes; a test checks that the committed files are current.
//
//	go run ./internal/cmd/genvectors [-out testdata]
//
// The keys are test keys: their seeds are below, in public.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	out := flag.String("out", "testdata", "directory to write the vectors to")
	flag.Parse()
	files, err := Generate()
	if err != nil {
		fmt.Fprintf(os.Stderr, "genvectors: error: %v\n", err)
		os.Exit(1)
	}
	if err := Write(*out, files); err != nil {
		fmt.Fprintf(os.Stderr, "genvectors: error: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %d files to %s\n", len(files), *out)
}
