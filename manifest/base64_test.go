package manifest

import "testing"

// TestAttackEnvelopeBase64LineBreaks: a JSON "\r" or "\n" escape inside a
// base64 field decodes to a line break, which encoding/base64 skipped, so
// one signed payload had many spellings. Each is refused now.
func TestAttackEnvelopeBase64LineBreaks(t *testing.T) {
	for _, in := range []string{
		`{"payload":"e3\r0=","payloadType":"x","signatures":[]}`,
		`{"payload":"e30=\n","payloadType":"x","signatures":[]}`,
		`{"payload":"e30=","payloadType":"x","signatures":[{"sig":"AA\r\nAA"}]}`,
	} {
		if _, err := ParseEnvelope([]byte(in)); err == nil {
			t.Errorf("accepted %s", in)
		}
	}
}
