package mirror

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ssms.dev/ssms/internal/memlog"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/verifier"
)

// testBundle is a bundle of product at version whose release signs the
// artifacts given (name → bytes). It parses (verifier.ParseBundle) but
// is signed by no one: Add and Client check names, digests and sizes,
// and leave signatures to verifier.Verify.
func testBundle(t testing.TB, product, version string, artifacts map[string][]byte) []byte {
	t.Helper()
	var subjects []manifest.Subject
	for name, data := range artifacts {
		subjects = append(subjects, manifest.SizedSubject(name, manifest.DigestBytes(data), int64(len(data))))
	}
	st, err := manifest.NewRelease(subjects, manifest.ReleasePredicate{
		Product: product, Version: version, Sequence: 1, Type: manifest.TypeRelease,
		Released: manifest.FormatTime(time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)),
		Source:   manifest.Source{URI: "https://example.org/app.git", Commit: strings.Repeat("ab", 20)},
		Policy:   "sha256:" + strings.Repeat("cd", 32),
	})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := manifest.MarshalRelease(st)
	if err != nil {
		t.Fatal(err)
	}
	rel := envelope(t, payload)
	pol := envelope(t, []byte(`{"policy":"stand-in"}`))
	var seed [32]byte
	rand.Read(seed[:])
	log := memlog.New("log.test", seed)
	log.Add(pol)
	log.Add(rel)
	head := log.Checkpoint(2, nil, nil)
	b := &verifier.Bundle{
		MediaType: verifier.MediaType,
		Release:   verifier.Logged{Entry: rel, Proof: log.Proof(1, head)},
		FirstSeen: verifier.FirstSeen{Entry: rel, Proof: log.Proof(1, head), Consistency: []string{}},
		Policies:  []verifier.Logged{{Entry: pol, Proof: log.Proof(0, head)}},
		Rebuilds:  []verifier.Logged{},
	}
	raw, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifier.ParseBundle(raw); err != nil {
		t.Fatalf("the test bundle does not parse: %v", err)
	}
	return raw
}

func envelope(t testing.TB, payload []byte) []byte {
	t.Helper()
	b, err := (&manifest.Envelope{PayloadType: manifest.PayloadType, Payload: payload}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeFiles writes each name → bytes into dir and returns name → path.
func writeFiles(t testing.TB, dir string, files map[string][]byte) map[string]string {
	t.Helper()
	paths := map[string]string{}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		paths[name] = p
	}
	return paths
}

// noTemp fails if dir holds a leftover temporary file.
func noTemp(t testing.TB, dir string) {
	t.Helper()
	left, _ := filepath.Glob(filepath.Join(dir, ".ssms-download-*"))
	if len(left) > 0 {
		t.Errorf("temporary files left in %s: %v", dir, left)
	}
}
