// Package translog is an RFC 6962 transparency log: the embedded store
// behind `ssms log serve`, its HTTP API, and a client that verifies
// everything a log says.
//
// # Formats
//
// Checkpoints are C2SP tlog-checkpoint bodies in C2SP signed notes, signed
// with the log's Ed25519 note key; anything golang.org/x/mod/sumdb/note can
// open, this package opens, and the reverse:
//
//	log.example.org/releases
//	42
//	qJpp4ku5BrfYpQzgMvcGHjnZq3oaW2O6i/wJVCSKoN0=
//
//	— log.example.org/releases Az3grlT1rY0tM2Ov0t3O0sFvFoZ3...
//
// Witness cosignatures are further signature lines on the same note. The
// published checkpoint carries at most one line per key (name and key
// hash): when an unchanged checkpoint is cosigned again (hourly on an idle
// log, and at every restart), each witness's newer line replaces its older
// one ([Store.Attach], [OneSignaturePerKey]), so the note never grows past
// the 100 signatures sumdb/note opens and its freshness keeps moving.
//
// Proofs handed to submitters are C2SP tlog-proof@v1 (see [Proof]). Parsers
// accept only canonical input and cap sizes; a later incompatible proof
// format would have a different first line.
//
// # HTTP API
//
//	POST /add                          body: the entry; 200: its tlog-proof
//	GET  /checkpoint                   the latest signed checkpoint
//	GET  /tile/<L>/<N>[.p/<W>]         C2SP tlog-tiles hash tiles
//	GET  /tile/entries/<N>[.p/<W>]     C2SP tlog-tiles entry bundles
//	GET  /proof/inclusion?index=I&size=N     base64 hashes, one per line
//	GET  /proof/consistency?old=M&new=N      base64 hashes, one per line
//
// POST /add answers once the entry is durable and covered by a signed
// checkpoint. The [Admitter] decides what is admitted and what an entry
// claims ([Claim]: for SSMS, a canonical DSSE envelope whose every
// signature verifies under a distinct key of a served policy). An entry
// whose claim a logged entry covers (the same subject, signed by the same
// keys or fewer) is not added again: the answer is the logged entry's
// proof, whose bytes may differ from those submitted ([LoggedAsError]).
// A new entry of a logged subject must add a signature (a key with no
// logged signature on the subject) or carry every key logged for it (a
// merge, free of charge); anything else is refused (403, naming the logged
// keys, whose signatures the submitter can merge into its own). Each new
// entry is charged to one of its new keys, and a key adds at most
// [Server.KeyLimit] entries per [Server.KeyWindow] (default 60 per hour;
// copies and merges are free). So a stolen key spends only its own
// allowance, whatever public signatures it is paired with, and nobody
// keeps a release out by logging part of its signatures first. The counts are kept in memory: a restart, which is the
// operator's, resets them. The index of claims is rebuilt from every
// logged entry as the server starts; with a [LoggedClaimer] (as SSMS's
// admission is), an entry logged under other rules or policies is indexed
// by the keys served now whose signatures on it verify, so that after a
// rotation removes a key, the subsets of older envelopes without its
// signature are still copies.
//
// Errors: 400 malformed, 403 not admitted, 413 over 65,535 bytes, 429 with
// Retry-After (seconds) when every new key of the entry is over its limit, 404
// beyond the published tree (a tile index of any size past it, even one
// that does not fit an int64), 503 with Retry-After when overloaded or
// when [Server.MaxBodies] /add bodies are being read already (answered
// before reading, so clients holding bodies open cannot hold the log's
// memory; internal/httpserver caps the connections as well). Tile
// paths are accepted only in their canonical C2SP tlog-tiles form: level 0
// to 63, x-prefixed three-digit groups without a leading x000, and a
// partial width .p/W from 1 to 255 without leading zeros. Every answer
// other than 200 carries Cache-Control: no-store, so no cache keeps a 404
// for a tile that will exist.
//
// Every answer has a stated maximum, which [Client] accepts in full and
// refuses beyond (an honest log never exceeds it): an entry bundle
// [MaxEntryBundleSize] (256 entries of 65,535 bytes with their lengths,
// 16,777,472 bytes), a hash tile [MaxTileSize], a checkpoint
// [MaxCheckpointSize], the answer to /add [MaxProofSize], a proof
// [MaxHashLinesSize].
//
// # Storage and its guarantees
//
// A log is one directory: log.key (the note key), log.vkey, entries (each
// entry with a big-endian uint16 length, back to back: exactly the
// tlog-tiles bundle encoding, so a bundle is one contiguous read), index
// (the end offset of each entry), hashes (golang.org/x/mod/sumdb/tlog
// stored hashes, from which proofs and tiles are computed) and checkpoint.
// Disk use is 74 bytes per entry beyond the entry itself.
//
// A batch is written, fsync'd, and only then covered by a checkpoint that
// is signed and written atomically; a submitter is answered after that. So
// no acknowledged entry can be lost to a crash, a checkpoint never covers
// what a crash could lose, and since entries never change once written the
// log never signs two roots for one size. [Open] recovers from any crash:
// it cuts a torn tail, rehashes entries whose hashes were not written, and
// publishes entries that were durable but not yet checkpointed; anything a
// checkpoint covered that is missing or different is [ErrCorrupt], and the
// directory is left untouched. TestKill9 kills a server with SIGKILL 20
// times during concurrent appends and checks every acknowledged entry and
// every checkpoint a client saw.
//
// # Why our own store, not Tessera
//
// Tessera's POSIX driver (github.com/transparency-dev/tessera, v1.0.4) was
// the alternative. Measured on this 2-core machine in the same run with the
// same 1 KiB entries (bench/tessera, a separate module; Tessera at its most
// latency-friendly settings, 10 ms batches and 100 ms checkpoints):
//
//	                               translog      Tessera POSIX
//	add → in a checkpoint, p50     2.0 ms        119 ms        (budget ≤ 100 ms)
//	add → in a checkpoint, p99     3.2 ms        124 ms
//	appends/s, 2,048 writers       ~77,000       ~12,500       (budget ≥ 10,000)
//
// Tessera publishes on an interval, so its latency is bound by that
// interval; this store signs a checkpoint per batch, and batches grow with
// load, so it is fast at both ends. Proofs at 1,000,000 entries take
// about 39 µs (budget ≤ 1 ms). The store builds on x/mod's sumdb/tlog for
// hashing, proofs and tiles; proofs are verified with transparency-dev's
// merkle package, an independent implementation.
//
// # Evidence
//
// A witness or a monitor that catches the log contradicting itself keeps
// an [Evidence] file (JSON, type https://ssms.dev/tlog-evidence/v1): the
// log's vkey, two checkpoints it signed, a consistency proof, and, when
// needed, prefixRoot, the root of the newer tree at the older size. It is
// conclusive when both checkpoints verify under the log key the checker
// trusts ([Evidence.Check] takes that key; the one in the file is only a
// label) and either they give two roots for one size, or the proof leads
// from a prefix root other than the older signed root to the newer signed
// root. When the older size is a power of two, an RFC 6962 proof omits
// that prefix root (it is the first node of the newer tree), and a hostile
// log can serve any proof, so the finder reads the prefix root and a proof
// from the log's tiles, which the newer signed root authenticates
// ([Client.TileConsistency], [ForkEvidence]): evidence is then conclusive
// whatever the sizes, as long as the log serves its tiles.
package translog
