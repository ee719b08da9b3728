package manifest

import (
	"bytes"
	"strings"
	"testing"

	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"ssms.dev/ssms/internal/strictjson"
)

func exampleRelease() (*ReleaseStatement, []byte) {
	st, err := NewRelease([]Subject{
		{Name: "smp-server", Digest: Digest{SHA256: strings.Repeat("ab", 32)}},
		{Name: "smp-client", Digest: Digest{SHA256: strings.Repeat("cd", 32)}},
	}, ReleasePredicate{
		Product: "smp-server", Version: "1.2.0-rc.1", Sequence: 7, Type: TypeRelease,
		Released: "2026-11-22T10:00:00Z",
		Source:   Source{URI: "https://example.org/ssms.git", Commit: strings.Repeat("0a", 20)},
		Build:    &Recipe{Toolchain: "go1.26.8", Command: []string{"go", "build", "-trimpath", "./cmd/smp-server"}, Environment: map[string]string{"CGO_ENABLED": "0"}},
		Policy:   "sha256:" + strings.Repeat("ef", 32),
	})
	if err != nil {
		panic(err)
	}
	b, err := MarshalRelease(st)
	if err != nil {
		panic(err)
	}
	return st, b
}

func TestReleaseRoundTrip(t *testing.T) {
	st, b := exampleRelease()
	if st.Subject[0].Name != "smp-client" {
		t.Fatal("NewRelease did not sort subjects")
	}
	got, err := ParseRelease(b)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := MarshalRelease(got)
	if !bytes.Equal(again, b) {
		t.Fatalf("round trip changed bytes:\n%s\n%s", b, again)
	}
}

// TestReleaseIsValidInToto checks our statement with the in-toto project's
// own Go implementation of Statement v1.
func TestReleaseIsValidInToto(t *testing.T) {
	_, b := exampleRelease()
	var st intoto.Statement
	if err := protojson.Unmarshal(b, &st); err != nil {
		t.Fatalf("in-toto cannot read our statement: %v", err)
	}
	if err := st.Validate(); err != nil {
		t.Fatalf("in-toto rejects our statement: %v", err)
	}
	if st.GetPredicateType() != ReleasePredicateType || st.GetSubject()[1].GetDigest()["sha256"] != strings.Repeat("ab", 32) {
		t.Fatal("in-toto reads different values")
	}
}

func TestParseReleaseErrors(t *testing.T) {
	_, good := exampleRelease()
	edit := func(old, new string) string {
		if !bytes.Contains(good, []byte(old)) {
			t.Fatalf("example has no %q", old)
		}
		return strings.Replace(string(good), old, new, 1)
	}
	tests := []struct{ name, in, want string }{
		{"statement type", edit(`Statement/v1"`, `Statement/v0.1"`), "_type"},
		{"predicate type", edit(`release/v1"`, `release/v2"`), "predicateType"},
		{"no subjects", edit(string(good[strings.Index(string(good), `[`):strings.Index(string(good), `]`)+1]), `[]`), "subject: missing"},
		{"bad digest", edit(strings.Repeat("ab", 32), strings.Repeat("AB", 32)), "subject[1].digest.sha256"},
		{"short digest", edit(strings.Repeat("ab", 32), "abab"), "subject[1].digest.sha256"},
		{"unsorted subjects", edit(`"smp-client"`, `"zzz"`), "subject[1].name"},
		{"path as name", edit(`"smp-client"`, `"../x"`), "subject[0].name"},
		{"product", edit(`"product":"smp-server"`, `"product":"SMP"`), "predicate.product"},
		{"v prefix", edit(`1.2.0-rc.1`, `v1.2.0`), "predicate.version"},
		{"short version", edit(`1.2.0-rc.1`, `1.2`), "predicate.version"},
		{"build metadata", edit(`1.2.0-rc.1`, `1.2.0+x`), "predicate.version"},
		{"sequence 0", edit(`"sequence":7`, `"sequence":0`), "predicate.sequence"},
		{"sequence negative", edit(`"sequence":7`, `"sequence":-1`), `"predicate.sequence": want a whole number`},
		{"sequence float", edit(`"sequence":7`, `"sequence":7.5`), `"predicate.sequence": want a whole number`},
		{"sequence huge", edit(`"sequence":7`, `"sequence":9007199254740992`), "predicate.sequence"},
		{"type", edit(`"type":"release"`, `"type":"hotfix"`), "predicate.type"},
		{"time zone", edit(`10:00:00Z`, `10:00:00+01:00`), "predicate.released"},
		{"fraction", edit(`10:00:00Z`, `10:00:00.5Z`), "predicate.released"},
		{"relative uri", edit(`https://example.org/ssms.git`, `ssms.git`), "predicate.source.uri"},
		{"short commit", edit(strings.Repeat("0a", 20), "0a0a0a"), "predicate.source.commit"},
		{"policy", edit(`sha256:efef`, `sha512:efef`), "predicate.policy"},
		{"empty command", edit(`["go","build","-trimpath","./cmd/smp-server"]`, `[]`), "predicate.build: command"},
		{"env name", edit(`"CGO_ENABLED"`, `"CGO ENABLED"`), "predicate.build: environment"},
		{"unknown field", edit(`"type":"release"`, `"type":"release","note":"x"`), `unknown field "note"`},
		{"duplicate field", edit(`"type":"release"`, `"type":"release","type":"rollback"`), `duplicate key "type"`},
		{"missing field", edit(`"type":"release",`, ``), "predicate.type"},
		{"white space", edit(`"type":"release"`, `"type": "release"`), "canonical form"},
		{"field order", edit(`"product":"smp-server","version":"1.2.0-rc.1"`, `"version":"1.2.0-rc.1","product":"smp-server"`), "canonical form"},
		{"escaped", edit(`"product":"smp-server"`, `"product":"smp-\u0073erver"`), "canonical form"},
		{"trailing newline", string(good) + "\n", "canonical form"},
		{"not utf8", edit(`"smp-client"`, "\"smp-\xff\""), "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRelease([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParseRecipe(t *testing.T) {
	if _, err := ParseRecipe([]byte(`{"toolchain":"go1.26.8","command":["go","build"],"environment":{}}`)); err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		`{"toolchain":"","command":["go"],"environment":{}}`:         "toolchain",
		`{"toolchain":"go","command":["go"]}`:                        "environment",
		`{"toolchain":"go","command":["go"],"environment":{},"x":1}`: "unknown field",
	} {
		if _, err := ParseRecipe([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", in, err, want)
		}
	}
}

func FuzzParseRelease(f *testing.F) {
	_, good := exampleRelease()
	f.Add(good)
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := ParseRelease(data)
		if err != nil {
			return
		}
		// Only canonical input parses, so marshal gives back the input.
		out, err := MarshalRelease(st)
		if err != nil || !bytes.Equal(out, data) {
			t.Fatalf("parse → marshal changed the bytes (%v):\n%q\n%q", err, data, out)
		}
	})
}

// FuzzParseReleasePaths demands that the fast path and the strict path of
// ParseRelease accept exactly the same inputs.
func FuzzParseReleasePaths(f *testing.F) {
	_, good := exampleRelease()
	f.Add(good)
	f.Add(bytes.Replace(good, []byte(`"type":"release"`), []byte(`"type":"release","type":"release"`), 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, fast := ParseRelease(data)
		_, strict := parseReleaseStrict(data)
		if (fast == nil) != (strict == nil) {
			t.Fatalf("paths disagree on %q: fast %v, strict %v", data, fast, strict)
		}
	})
}

func FuzzParseRecipe(f *testing.F) {
	f.Add([]byte(`{"toolchain":"go1.26.8","command":["go","build"],"environment":{"A":"b"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRecipe(data)
		if err != nil {
			return
		}
		b, _ := strictjson.Marshal(r)
		if _, err := ParseRecipe(b); err != nil {
			t.Fatalf("marshalled recipe does not parse: %v", err)
		}
	})
}

func TestRebuildRoundTrip(t *testing.T) {
	st, payload := exampleRelease()
	p := RebuildPredicate{Release: "sha256:" + strings.Repeat("12", 32), Product: "smp-server", Version: "1.2.0-rc.1", Builder: "rebuilder-1",
		Source: st.Predicate.Source, Build: *st.Predicate.Build, Started: "2026-11-22T11:00:00Z", Finished: "2026-11-22T11:01:00Z", Outcome: OutcomeReproduced}
	_, b, err := NewRebuild(st.Subject, p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseRebuild(b)
	if err != nil || got.Predicate.Builder != "rebuilder-1" {
		t.Fatalf("%v", err)
	}
	if _, err := ParseRebuild(payload); err == nil {
		t.Fatalf("a release parsed as a rebuild: %v", err)
	}
	p.Outcome = "mismatch"
	if _, _, err := NewRebuild(st.Subject, p); err == nil || !strings.Contains(err.Error(), "predicate.outcome") {
		t.Fatalf("a mismatch attested: %v", err)
	}
	var in intoto.Statement
	if err := protojson.Unmarshal(b, &in); err != nil || in.Validate() != nil {
		t.Fatalf("in-toto rejects the attestation: %v", err)
	}
}

func exampleRebuild() []byte {
	st, _ := exampleRelease()
	p := RebuildPredicate{Release: "sha256:" + strings.Repeat("12", 32), Product: "smp-server", Version: "1.2.0-rc.1", Builder: "rebuilder-1",
		Source: st.Predicate.Source, Build: *st.Predicate.Build, Started: "2026-11-22T11:00:00Z", Finished: "2026-11-22T11:01:00Z", Outcome: OutcomeReproduced}
	_, b, err := NewRebuild(st.Subject, p)
	if err != nil {
		panic(err)
	}
	return b
}

// FuzzParseRebuild demands that an accepted attestation is canonical (it
// marshals back to the input) and is a valid in-toto v1 Statement for the
// reference implementation.
func FuzzParseRebuild(f *testing.F) {
	f.Add(exampleRebuild())
	_, release := exampleRelease()
	f.Add(release)
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := ParseRebuild(data)
		if err != nil {
			return
		}
		b, err := strictjson.Marshal(st)
		if err != nil || !bytes.Equal(b, data) {
			t.Fatalf("parse → marshal changed the bytes (%v):\n%q\n%q", err, data, b)
		}
		var in intoto.Statement
		if err := protojson.Unmarshal(data, &in); err != nil || in.Validate() != nil {
			t.Fatalf("accepted a statement in-toto refuses: %v", err)
		}
	})
}
