// Package manifest defines the signed documents of SSMS: DSSE envelopes and
// the in-toto statements they carry.
//
// # Envelope
//
// An envelope is DSSE v1 JSON:
//
//	{
//	  "payload": "<standard base64, padded>",
//	  "payloadType": "application/vnd.in-toto+json",
//	  "signatures": [
//	    {
//	      "keyid": "<hex SHA-256 of the signer's DER SubjectPublicKeyInfo>",
//	      "sig": "<base64>"
//	    }
//	  ]
//	}
//
// Each signature covers PAE(payloadType, payload) =
// "DSSEv1" SP len(type) SP type SP len(payload) SP payload, lengths in ASCII
// decimal. An envelope is at most 65,535 bytes (the log's leaf limit) with at most
// 64 signatures. A threshold counts distinct keys: a key that signs twice
// counts once ([Envelope.Verify]).
//
// The canonical encoding of an envelope is the one [Envelope.Marshal]
// writes, byte for byte: laid out exactly as above (the fields in that
// order, two spaces per level as encoding/json's MarshalIndent writes, so
// "<", ">" and "&" in strings are escaped as \u003c, \u003e, \u0026),
// "keyid" omitted when empty, standard base64 with padding, and one final
// newline. `ssms release
// draft` and `ssms release sign` write this form and `ssms release publish`
// sends the file unchanged. [ParseEnvelope] accepts any JSON white space
// (envelopes may come from other DSSE tools); the log admits only the
// canonical encoding ([ParseCanonicalEnvelope]), so that one signed
// document cannot be logged again under another spelling.
//
// # Release statement
//
// The payload of a release is an in-toto Statement v1 whose predicate type
// is https://ssms.dev/release/v1, in canonical form: compact JSON, fields in
// the order below, subjects sorted by name, no other fields. For example
// (wrapped here; the real payload is one line):
//
//	{"_type":"https://in-toto.io/Statement/v1",
//	 "subject":[{"name":"smp-server","digest":{"sha256":"<64 hex>"},"annotations":{"size":9437184}}],
//	 "predicateType":"https://ssms.dev/release/v1",
//	 "predicate":{"product":"smp-server","version":"1.2.0","sequence":7,
//	   "type":"release","released":"2026-11-22T10:00:00Z",
//	   "source":{"uri":"https://example.org/ssms.git","commit":"<40 hex>"},
//	   "build":{"toolchain":"go1.26.8","command":["go","build","-trimpath","./cmd/smp-server"],"environment":{"CGO_ENABLED":"0"}},
//	   "policy":"sha256:<64 hex>"}}
//
// subject annotations.size: the artifact's size in bytes (0 to 16 GiB),
// signed so that every download can be cut off at it before a byte more is
// hashed; statements made before sizes were signed have no annotations and
// stay valid. product: 1–64 of a-z 0-9 -. version: semantic version without "v" or
// build metadata. sequence: 1 to 2^53-1, strictly increasing per product
// (enforced by the verifier, which remembers the last one it accepted).
// type: "release", or "rollback" for a deliberate return to an older
// version, which needs its own threshold. released: RFC 3339 UTC to the
// second. source.commit: the full git commit ID. build: optional rebuild
// recipe. policy: digest of the policy payload the release was drafted
// under, for auditors; which keys must sign is decided by the verifier's
// own pinned policy, never by this field.
//
// A future incompatible predicate would use a different predicate type.
//
// Parsers here accept only what they would write, within stated limits,
// and report the first problem as a [FieldError] naming the JSON field.
package manifest
