package manifest

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"ssms.dev/ssms/signer"
)

func TestParseCanonicalEnvelope(t *testing.T) {
	env := &Envelope{PayloadType: "application/x-test;v=<1>", Payload: []byte("payload")}
	if err := env.Sign(context.Background(), newSigner(t, signer.Ed25519)); err != nil {
		t.Fatal(err)
	}
	canonical, err := env.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseCanonicalEnvelope(canonical); err != nil {
		t.Fatalf("Marshal's own output: %v", err)
	}
	s := string(canonical)
	for name, variant := range map[string]string{
		"no final newline":     strings.TrimSuffix(s, "\n"),
		"two final newlines":   s + "\n",
		"CRLF":                 strings.ReplaceAll(s, "\n", "\r\n"),
		"compact":              strings.NewReplacer("\n", "", "  ", "").Replace(s),
		"tab indent":           strings.ReplaceAll(s, "  ", "\t"),
		"space before colon":   strings.Replace(s, `"payload":`, `"payload" :`, 1),
		"fields reordered":     reorder(t, s),
		"unescaped less-than":  strings.Replace(s, `\u003c`, `<`, 1),
		"escaped slash":        strings.Replace(s, `application/x-test`, `application\/x-test`, 1),
		"leading white space":  " " + s,
		"trailing white space": s + " ",
	} {
		if _, err := ParseEnvelope([]byte(variant)); err != nil {
			t.Errorf("%s: ParseEnvelope refuses the variant (%v); the test would prove nothing", name, err)
		}
		if _, err := ParseCanonicalEnvelope([]byte(variant)); !errors.Is(err, ErrNotCanonical) {
			t.Errorf("%s: err = %v, want ErrNotCanonical", name, err)
		}
	}
}

// reorder moves the payloadType line before the payload line.
func reorder(t *testing.T, s string) string {
	lines := strings.Split(s, "\n")
	if !strings.HasPrefix(lines[1], `  "payload":`) || !strings.HasPrefix(lines[2], `  "payloadType":`) {
		t.Fatalf("unexpected layout:\n%s", s)
	}
	lines[1], lines[2] = lines[2], lines[1]
	return strings.Join(lines, "\n")
}

func FuzzParseCanonicalEnvelope(f *testing.F) {
	f.Add([]byte("{\n  \"payload\": \"e30=\",\n  \"payloadType\": \"x\",\n  \"signatures\": []\n}\n"))
	f.Add([]byte(`{"payload":"e30=","payloadType":"x","signatures":[{"keyid":"k","sig":"AAAA"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Exactly one encoding per envelope: the canonical parser accepts
		// data if and only if the lenient one does and Marshal gives back
		// data byte for byte.
		_, err := ParseCanonicalEnvelope(data)
		env, lenient := ParseEnvelope(data)
		if lenient != nil {
			if err == nil {
				t.Fatal("canonical parser accepts what the lenient one refuses")
			}
			return
		}
		out, merr := env.Marshal()
		if (err == nil) != (merr == nil && bytes.Equal(out, data)) {
			t.Fatalf("canonical = %v, but Marshal gives back the input: %v", err, merr == nil && bytes.Equal(out, data))
		}
		if merr == nil {
			if _, err := ParseCanonicalEnvelope(out); err != nil {
				t.Fatalf("Marshal's output is not canonical: %v", err)
			}
		}
	})
}

func TestCovers(t *testing.T) {
	ctx := context.Background()
	a, b := newSigner(t, signer.ECDSAP256), newSigner(t, signer.Ed25519)
	keys := []*signer.PublicKey{a.Public(), b.Public()}
	env := func(payload string, signers ...signer.Signer) *Envelope {
		e := &Envelope{PayloadType: "application/x-test", Payload: []byte(payload)}
		for _, s := range signers {
			if err := e.Sign(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		return e
	}
	both := env("x", a, b)
	for name, tt := range map[string]struct {
		d    *Envelope
		want bool
	}{
		"re-signed":      {env("x", b, a), true},
		"fewer signers":  {env("x", a), true},
		"unsigned":       {env("x"), true},
		"other payload":  {env("y", a), false},
		"other type":     {&Envelope{PayloadType: "application/x-other", Payload: []byte("x")}, false},
		"another signer": {env("x", a, newSigner(t, signer.Ed25519)), true}, // not a key of keys: not vouched for
	} {
		if got := both.Covers(tt.d, keys); got != tt.want {
			t.Errorf("%s: Covers = %v, want %v", name, got, tt.want)
		}
	}
	if env("x", a).Covers(both, keys) {
		t.Error("an entry with fewer signers covers one with more")
	}
}
