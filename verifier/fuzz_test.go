package verifier

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParseBundle: a bundle that parses has exactly one encoding, the one
// Marshal writes; anything refused is refused as ErrFormat or
// ErrMixedHeads.
func FuzzParseBundle(f *testing.F) {
	s := newScenario(f)
	good, _ := s.bundle().Marshal()
	f.Add(good)
	f.Add([]byte(`{"mediaType":"application/vnd.ssms.bundle.v1+json"}`))
	f.Add(bytes.Replace(good, []byte(`"consistency":[]}`), []byte(`"consistency":null}`), 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBundle(data)
		if err != nil {
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrMixedHeads) {
				t.Fatalf("refused with %v, not ErrFormat or ErrMixedHeads", err)
			}
			return
		}
		again, err := b.Marshal()
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("parsed, but marshals to other bytes (%v):\n%q\n%q", err, data, again)
		}
	})
}

// FuzzParseState: a state that parses marshals to a state that parses to
// the same bytes again; anything refused is ErrStateCorrupt.
func FuzzParseState(f *testing.F) {
	s := newScenario(f)
	st, err := Verify(s.request(s.bundle(), nil))
	if err != nil {
		f.Fatal(err)
	}
	good, _ := st.Next.Marshal()
	f.Add(good)
	f.Add([]byte(`{"version":1,"logs":{},"products":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := ParseState(data)
		if err != nil {
			if !errors.Is(err, ErrStateCorrupt) {
				t.Fatalf("refused with %v, not ErrStateCorrupt", err)
			}
			return
		}
		once, _ := st.Marshal()
		st2, err := ParseState(once)
		if err != nil {
			t.Fatalf("a marshalled state does not parse: %v\n%s", err, once)
		}
		twice, _ := st2.Marshal()
		if !bytes.Equal(once, twice) {
			t.Fatalf("marshal is not stable:\n%s\n%s", once, twice)
		}
	})
}
