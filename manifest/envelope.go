package manifest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"ssms.dev/ssms/internal/b64"
	"ssms.dev/ssms/internal/strictjson"
	"ssms.dev/ssms/signer"
)

// Limits on envelopes. MaxEnvelopeSize is also the log's leaf limit, so an
// envelope that parses here can always be logged.
const (
	MaxEnvelopeSize = 1<<16 - 1 // tlog-tiles entry bundles give each entry a 16-bit length
	MaxSignatures   = 64
	maxKeyIDLen     = 256
)

// Envelope is a DSSE v1 envelope. Payload is the decoded payload; the
// signatures cover PAE(PayloadType, Payload).
type Envelope struct {
	PayloadType string
	Payload     []byte
	Signatures  []Signature
}

// Signature is one DSSE signature. KeyID is a hint and is never trusted:
// the verifier decides which key a signature belongs to by checking it.
type Signature struct {
	KeyID string
	Sig   []byte
}

type wireEnvelope struct {
	Payload     *string         `json:"payload"`
	PayloadType *string         `json:"payloadType"`
	Signatures  []wireSignature `json:"signatures"`
}

type wireSignature struct {
	KeyID string  `json:"keyid,omitempty"`
	Sig   *string `json:"sig"`
}

// PAE is DSSE's pre-authentication encoding of a payload: the bytes that
// are actually signed.
func PAE(payloadType string, payload []byte) []byte {
	b := make([]byte, 0, 32+len(payloadType)+len(payload))
	b = append(b, "DSSEv1 "...)
	b = strconv.AppendInt(b, int64(len(payloadType)), 10)
	b = append(b, ' ')
	b = append(b, payloadType...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(len(payload)), 10)
	b = append(b, ' ')
	return append(b, payload...)
}

// ParseEnvelope parses a DSSE envelope. It accepts any JSON white space (the
// envelope may come from other DSSE tools) but nothing else loose: unknown
// or repeated fields, missing fields, base64 other than standard with
// padding, more than MaxSignatures signatures, over MaxEnvelopeSize bytes.
func ParseEnvelope(data []byte) (*Envelope, error) {
	var w wireEnvelope
	if err := strictjson.Decode(data, &w, MaxEnvelopeSize); err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	return fromWire(&w)
}

// fromWire checks a decoded envelope's fields.
func fromWire(w *wireEnvelope) (*Envelope, error) {
	if w.PayloadType == nil || *w.PayloadType == "" {
		return nil, &FieldError{"envelope", "payloadType", "missing"}
	}
	if w.Payload == nil {
		return nil, &FieldError{"envelope", "payload", "missing"}
	}
	payload, err := decodeBase64(*w.Payload)
	if err != nil {
		return nil, &FieldError{"envelope", "payload", err.Error()}
	}
	if w.Signatures == nil {
		return nil, &FieldError{"envelope", "signatures", "missing (an unsigned envelope has \"signatures\": [])"}
	}
	if len(w.Signatures) > MaxSignatures {
		return nil, &FieldError{"envelope", "signatures", fmt.Sprintf("%d signatures; at most %d", len(w.Signatures), MaxSignatures)}
	}
	e := &Envelope{PayloadType: *w.PayloadType, Payload: payload, Signatures: make([]Signature, 0, len(w.Signatures))}
	for i, s := range w.Signatures {
		field := fmt.Sprintf("signatures[%d]", i)
		if s.Sig == nil {
			return nil, &FieldError{"envelope", field + ".sig", "missing"}
		}
		sig, err := decodeBase64(*s.Sig)
		if err != nil || len(sig) == 0 {
			return nil, &FieldError{"envelope", field + ".sig", "not standard base64 of a signature"}
		}
		if len(s.KeyID) > maxKeyIDLen {
			return nil, &FieldError{"envelope", field + ".keyid", "too long"}
		}
		e.Signatures = append(e.Signatures, Signature{KeyID: s.KeyID, Sig: sig})
	}
	return e, nil
}

// canonicalForm is Marshal's: json.MarshalIndent with two spaces, and a
// final newline.
var canonicalForm = strictjson.Form{Indent: "  ", EscapeHTML: true, Newline: true}

// ErrNotCanonical refuses an envelope that is not in canonical encoding.
var ErrNotCanonical = errors.New("envelope is not in canonical encoding (the exact bytes ssms writes)")

// ParseCanonicalEnvelope parses an envelope and accepts it only in its
// canonical encoding: exactly the bytes [Envelope.Marshal] writes for it.
// The log admits only this form, so that the white space, key order or
// escaping of an envelope cannot be varied to log one signed document
// again and again.
func ParseCanonicalEnvelope(data []byte) (*Envelope, error) {
	// Fast path: one decoding pass, then the comparison with what Marshal
	// writes, which a repeated key, a key in another case, invalid UTF-8
	// or trailing data cannot survive; the strict parser then only names
	// the problem.
	if len(data) <= MaxEnvelopeSize {
		var w wireEnvelope
		if json.Unmarshal(data, &w) == nil { // unknown fields fail the comparison
			// fromWire accepts only canonical base64, so the strings as
			// decoded are what Marshal would write for the envelope.
			if e, err := fromWire(&w); err == nil && len(data) <= MaxEnvelopeSize && strictjson.Encodes(data, &w, canonicalForm) {
				return e, nil
			}
		}
	}
	e, err := ParseEnvelope(data)
	if err != nil {
		return nil, err
	}
	b, err := e.Marshal()
	if err != nil || !bytes.Equal(b, data) {
		return nil, ErrNotCanonical
	}
	return e, nil
}

func decodeBase64(s string) ([]byte, error) {
	b, err := b64.Std(s)
	if err != nil {
		return nil, errors.New("not standard base64 with padding")
	}
	return b, nil
}

// Marshal encodes e in canonical encoding (see the package doc): the form
// SSMS writes to files and the only one its log admits. Adding a signature
// changes only the signatures array.
func (e *Envelope) Marshal() ([]byte, error) {
	payload := base64.StdEncoding.EncodeToString(e.Payload)
	w := wireEnvelope{Payload: &payload, PayloadType: &e.PayloadType, Signatures: []wireSignature{}}
	for _, s := range e.Signatures {
		sig := base64.StdEncoding.EncodeToString(s.Sig)
		w.Signatures = append(w.Signatures, wireSignature{KeyID: s.KeyID, Sig: &sig})
	}
	b, err := json.MarshalIndent(w, "", "  ") // canonicalForm
	if err != nil {
		return nil, err
	}
	if len(b)+1 > MaxEnvelopeSize {
		return nil, fmt.Errorf("envelope of %d bytes exceeds the limit of %d", len(b)+1, MaxEnvelopeSize)
	}
	return append(b, '\n'), nil
}

// ErrAlreadySigned refuses a second signature by the same key.
var ErrAlreadySigned = errors.New("already signed by this key")

// Sign adds a signature by s. It refuses if s has signed already, whether
// or not the earlier signature names its key ID.
func (e *Envelope) Sign(ctx context.Context, s signer.Signer) error {
	pub := s.Public()
	pae := PAE(e.PayloadType, e.Payload)
	for _, sig := range e.Signatures {
		if sig.KeyID == pub.ID() || pub.Verify(pae, sig.Sig) == nil {
			return fmt.Errorf("%w (key %s)", ErrAlreadySigned, pub.ID())
		}
	}
	if len(e.Signatures) >= MaxSignatures {
		return fmt.Errorf("envelope already has the maximum of %d signatures", MaxSignatures)
	}
	sig, err := s.Sign(ctx, pae)
	if err != nil {
		return fmt.Errorf("signing: %w", err)
	}
	e.Signatures = append(e.Signatures, Signature{KeyID: pub.ID(), Sig: sig})
	return nil
}

// FieldError reports a missing or invalid field of a document.
type FieldError struct {
	Document string // "envelope", "release statement", "policy", …
	Field    string // JSON path, e.g. "predicate.version"
	Problem  string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s: %s: %s", e.Document, e.Field, e.Problem)
}
