// Package verifier decides, offline, whether a release's artifacts may
// run: one call, Verify, over one file, the bundle, with the artifacts'
// digests, the policy the client pins, and the client's State. It reads no
// file, no network and no clock; callers hash the artifacts as they stream
// them, pass the time, and store the next State it returns (package
// statedir does, under a lock, atomically). Package bundler makes bundles
// from a log; `ssms bundle` and `ssms verify` are the commands.
//
// # Checks
//
// Verify makes these checks, in this order, and returns the first that
// fails as an error wrapping one of the Err values (errors.Is), whose
// message names what failed:
//
//  1. the bundle parses, within its limits, in canonical form, every proof
//     against the same head (ErrFormat, ErrMixedHeads);
//  2. the bundle is for the product asked for (ErrProduct);
//  3. the policy chain: from the pinned policy, each next version signed by
//     the policy threshold of the one before and of its own; it reaches the
//     latest policy the state accepted, with the same policies at the
//     versions the state pinned; the policy in force has not expired
//     (ErrPolicyChain);
//  4. the release carries the threshold of distinct maintainer keys of the
//     policy in force for its type, release or rollback (ErrThreshold);
//  5. each artifact is a subject of the release, with its digest and signed
//     size (ErrArtifact);
//  6. the head is signed by a log of the policy (ErrUnknownLog), and every
//     document of the bundle is in its tree (ErrInclusion);
//  7. a quorum of the policy's witnesses cosigned the head, the quorum-th
//     newest cosignature at most maxCheckpointAge old (ErrQuorum,
//     ErrStale);
//  8. the head extends the checkpoint of that log the state remembers, by a
//     consistency proof from the bundle or the caller (ErrConsistency; a
//     proven fork is a *ForkError with evidence);
//  9. the release's first entry is in the checkpoint it was published
//     under, cosigned by a quorum, which the head extends: the quorum-th
//     oldest cosignature is when the release became visible;
//  10. enough distinct rebuilder keys attested, in the log, that this release
//     rebuilds to the same digests (ErrRebuildThreshold);
//  11. the sequence is above the installed one, and a rollback returns to a
//     version whose release is in the log (ErrRollback);
//  12. the release has been visible for the policy's minLogAge
//     (*TooEarlyError, ErrTooEarly).
//
// ModeInstalled, the start-up self-check, skips 7's freshness, 3's expiry,
// 8 and 12, uses the policy recorded at install, demands the bundle
// recorded at install, and changes no state. ModePublish, what a
// publisher checks before handing a bundle out, skips 8 and 12.
//
// # Bundle
//
// A bundle is one JSON object, media type
// application/vnd.ssms.bundle.v1+json, at most 1 MiB, in the canonical
// encoding Marshal writes (compact, fields in the order below, no HTML
// escaping, lists never null), for example (wrapped, and shortened with …):
//
//	{"mediaType":"application/vnd.ssms.bundle.v1+json",
//	 "release":{"entry":"eyJwYXlsb2FkIjoi…","proof":"c2sp.org/tlog-proof@v1\nindex 1\n…\n\nlog.example\n4\n…\n— log.example …\n— w1.example …\n"},
//	 "firstSeen":{"entry":"eyJwYXlsb2FkIjoi…","proof":"c2sp.org/tlog-proof@v1\nindex 1\n…","consistency":["qzH3…=","…"]},
//	 "policies":[{"entry":"eyJwYXlsb2FkIjoi…","proof":"c2sp.org/tlog-proof@v1\nindex 0\n…"}],
//	 "rebuilds":[{"entry":"…","proof":"…"},{"entry":"…","proof":"…"}],
//	 "consistency":[{"size":3,"hashes":["…"]}]}
//
// Every entry is the exact bytes the log holds (standard base64), never
// re-serialised: a DSSE envelope in canonical encoding. Every proof is a
// C2SP tlog-proof whose checkpoint is the head, byte for byte the same in
// all of them: release, the release; policies, the chain from a version
// at or before the pinned one to the policy in force, in version order (at
// most 64); rebuilds, rebuild attestations (at most 32); rollbackOf, only
// in a rollback's bundle, the release of the version it returns to.
// firstSeen is the earliest entry of the release's payload with its proof
// against the checkpoint it was published under, as `ssms release
// publish` received it with its cosignatures, and the RFC 6962
// consistency proof from that checkpoint to the head. consistency holds
// proofs from older sizes to the head, for clients that accepted a
// checkpoint of that size before (at most 8, each size once). A proof has
// at most 64 hashes; no entry appears twice in a bundle.
//
// A later incompatible format would have another media type.
package verifier
