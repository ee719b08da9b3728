package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The --json convention: every object key is lower camel case, as the
// formats are (docs/formats.md). Keys that are data, not names, are
// exempt: the environment variables of a recipe. In-toto's "_type" is
// fixed by its specification.
var (
	lowerCamel = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)
	fixedKeys  = []string{"_type"}
	dataMaps   = []string{"environment"}
)

// runCheckingJSON is ssms as the script tests run it: when the command
// line asks for --json, every key of every JSON value it prints is
// checked, and a key off the convention fails the command (so every
// script that uses --json checks it).
func runCheckingJSON(args []string) int {
	if !slices.Contains(args, "--json") {
		return run(args, os.Stdout, os.Stderr)
	}
	var out bytes.Buffer
	code := run(args, io.MultiWriter(os.Stdout, &out), os.Stderr)
	if err := checkJSONKeys(out.Bytes()); err != nil {
		fmt.Fprintf(os.Stderr, "ssms (test): --json output breaks the field-name convention: %v\n", err)
		return 1
	}
	return code
}

// checkJSONKeys checks each JSON value in out (one, or a stream of lines).
func checkJSONKeys(out []byte) error {
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("not JSON: %v", err)
		}
		if err := checkKeys("", v); err != nil {
			return err
		}
	}
}

func checkKeys(path string, v any) error {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if !lowerCamel.MatchString(k) && !slices.Contains(fixedKeys, k) {
				return fmt.Errorf("key %q at %s is not lower camel case", k, strings.TrimPrefix(path+"."+k, "."))
			}
			if slices.Contains(dataMaps, k) {
				continue
			}
			if err := checkKeys(path+"."+k, e); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range v {
			if err := checkKeys(fmt.Sprintf("%s[%d]", path, i), e); err != nil {
				return err
			}
		}
	}
	return nil
}

func TestCheckJSONKeys(t *testing.T) {
	for _, ok := range []string{
		`{"keyid":"ab","algorithm":"ed25519"}`,
		"{\"kind\":\"pass\",\"from\":0}\n{\"kind\":\"equivocation\",\"index\":3}\n",
		`{"_type":"x","predicate":{"build":{"environment":{"CGO_ENABLED":"0"}}},"subject":[{"digest":{"sha256":"00"}}]}`,
	} {
		if err := checkJSONKeys([]byte(ok)); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{`{"From":1}`, `{"a":[{"by_old":1}]}`, `{"x":{"Need":2}}`, `verified`} {
		if checkJSONKeys([]byte(bad)) == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}
