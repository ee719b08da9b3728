package monitor

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"ssms.dev/ssms/manifest"
)

// FuzzIndexRoundTrip: what appendIndex commits, ReadIndex gives back
// unchanged, whatever the strings (markup, quotes, newlines, invalid
// UTF-8 aside) and numbers; and ReadIndex on arbitrary bytes returns an
// error or passes, never panics.
func FuzzIndexRoundTrip(f *testing.F) {
	f.Add("app", "1.0.0", int64(3), "two releases\n<script>", []byte(`{"pass":{"from":0,"to":1,"time":"x"}}`+"\n"))
	f.Add("", "", int64(0), "", []byte("{}\n"))
	f.Fuzz(func(t *testing.T, product, version string, index int64, message string, raw []byte) {
		dir := t.TempDir()
		m := &Monitor{Dir: dir}
		other := index + 1
		facts := Facts{
			Pass: IndexedPass{From: index, To: index + 2, Time: "2026-11-27T00:00:00Z"},
			Releases: []IndexedRelease{{Index: index, Ref: "sha256:" + version, Product: product, Version: version, Sequence: uint64(index),
				Subjects: []manifest.Subject{manifest.SizedSubject(product, manifest.DigestBytes([]byte(version)), index)}, Signers: []string{message}}},
			Rebuilds: []IndexedRebuild{{Index: other, Release: "sha256:" + version, Builder: message, Subjects: []manifest.Subject{}}},
			Policies: []IndexedPolicy{{Index: index, Version: 2, Policy: []byte(message)}},
			Findings: []Finding{{Kind: KindEquivocation, Index: index, Other: &other, Message: message}},
		}
		size, err := m.appendIndex(0, &Pass{From: index, To: index + 2}, &facts)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ReadIndex(dir, 0, size)
		if err != nil {
			t.Fatalf("ReadIndex of what appendIndex wrote: %v", err)
		}
		if len(got) != 1 || !reflect.DeepEqual(normalize(got[0]), normalize(facts)) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, facts)
		}
		os.WriteFile(filepath.Join(dir, IndexFile), raw, 0o644)
		ReadIndex(dir, 0, int64(len(raw)))
	})
}

// normalize makes strings comparable after JSON: invalid UTF-8 becomes
// U+FFFD on the way out, which is JSON's, not the index's, doing.
func normalize(f Facts) Facts {
	fix := func(s string) string { return string([]rune(s)) }
	for i := range f.Releases {
		r := &f.Releases[i]
		r.Product, r.Version, r.Ref = fix(r.Product), fix(r.Version), fix(r.Ref)
		for j := range r.Signers {
			r.Signers[j] = fix(r.Signers[j])
		}
		for j := range r.Subjects {
			r.Subjects[j].Name = fix(r.Subjects[j].Name)
		}
	}
	for i := range f.Rebuilds {
		f.Rebuilds[i].Builder, f.Rebuilds[i].Release = fix(f.Rebuilds[i].Builder), fix(f.Rebuilds[i].Release)
	}
	for i := range f.Findings {
		f.Findings[i].Message = fix(f.Findings[i].Message)
	}
	return f
}
