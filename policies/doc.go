// Package policies is the SSMS trust policy: who may sign what, which logs
// and witnesses count, and how fresh things must be. A policy is canonical
// JSON (internal/strictjson) in a DSSE envelope of payloadType
// application/vnd.ssms.policy+json:
//
//	{"version":1,"expires":"2027-01-01T00:00:00Z","products":["smp-client","smp-server"],
//	 "maintainers":{"keys":[{"name":"alice","id":"<sha256 of DER SPKI>","publicKey":"<PEM>"},…],
//	                "thresholds":{"release":2,"rollback":2,"policy":2}},
//	 "rebuilders":{"keys":[…],"threshold":1},
//	 "logs":[{"origin":"log.example","vkey":"log.example+1234abcd+AQ…","url":"https://log.example"}],
//	 "witnesses":{"vkeys":["w1.example+89abcdef+BA…"],"quorum":1},
//	 "maxCheckpointAge":"168h0m0s","minLogAge":"0s"}
//
// (shown wrapped; the payload is one compact line). Parsing enforces:
//
//   - every key is acceptable (internal/keycheck): no small-order or
//     non-canonical Ed25519 key, no RSA key under 2048 bits or with an even
//     exponent or one below 65537; vkeys are canonical (internal/vkey),
//     logs' of type 0x01 (Ed25519 note signatures), witnesses' of type 0x04
//     (tlog-cosignature/v1, which carries the time freshness needs);
//   - a key appears once in the whole policy, compared by key material (DER
//     SubjectPublicKeyInfo; a vkey's Ed25519 key is compared in that form),
//     not by name or encoding, across maintainers, rebuilders, logs and
//     witnesses: thresholds and quorums count keys, and a witness
//     cosignature does not sign the witness's name;
//   - 1 ≤ release ≤ rollback, policy ≤ the number of maintainers: a lower
//     rollback or policy threshold would let fewer keys than a release
//     needs roll clients back, or rotate the policy to themselves.
//
// Version N+1 is valid only if signed by the policy threshold of N and of
// N+1 (VerifyNext); the root is pinned by the caller (VerifyRoot).
package policies
