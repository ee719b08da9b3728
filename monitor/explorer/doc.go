// Package explorer serves a monitor's verified state as web pages and
// JSON: `ssms monitor ... --http ADDR`. It reads only what the monitor
// committed (state.json and the index, DIR/index.jsonl, see package
// monitor), never the log itself, so everything it shows passed the
// monitor's checks: a release is listed once its signatures met the
// threshold of the policy in force, a rebuild once a rebuilder of that
// policy signed it, a checkpoint once it was proven consistent with the
// last one.
//
// Create one with New, call Refresh after each monitor pass, and serve
// Handler with internal/httpserver. Pages are html/template (escaping by
// construction: a logged string cannot become markup), with one style
// sheet and no external resource; they work without JavaScript, except
// the optional in-browser hashing of a file on the lookup page
// (SubtleCrypto, only over HTTPS or on localhost). The Content-Security-
// Policy allows scripts and styles from the explorer itself only.
//
// # JSON API
//
// Every page has its JSON under /api/, with the same fields. Lists are
// newest first, PerPage (50) to a page, chosen with ?page=N (1 by
// default; a page out of range is 400) and described by "page", "pages",
// "perPage" and "total". Errors are {"error": "..."} with status 400
// (bad parameter), 404 (no such thing) or 500. Times are RFC 3339 UTC;
// "visible", "firstSeen", "lastSeen", "time" and "received" are the
// monitor's clock, "released" the maintainers' signed word.
//
//	GET /api/log              the latest verified checkpoint: origin, size,
//	                          rootHash, checkpoint (the signed note), quorum,
//	                          quorumOk, problem, fresh, witnesses [{name,
//	                          lastCosigned, ageSeconds, health: ok|stale|
//	                          missing}], indexFrom, lastPass, releases, alerts
//	GET /api/passes           the consistency chain: passes [{from, to, time}]
//	GET /api/products         [{name, releases, latest}]
//	GET /api/products/NAME    product, releases [release]
//	GET /api/releases/INDEX   one release (INDEX is its log index)
//	GET /api/alerts           alerts [{kind, index, other, message, evidence
//	                          (a path on this server), firstSeen, lastSeen,
//	                          passes}]; one alert raised on many passes is
//	                          listed once
//	GET /api/policies         the chain: [{version, digest, index (-1 for the
//	                          pinned policy), byOld, byNew, expires, products,
//	                          maintainers, releaseThreshold, rebuilders,
//	                          rebuildThreshold, witnesses, quorum}]
//	GET /api/lookup?digest=sha256:HEX
//	                          {digest, releases [release + artifact]}: the
//	                          verified releases with an artifact of that
//	                          digest; an empty list is a miss
//	POST /api/reports         a failure report (package updater/report) as
//	                          Marshal or Save writes it, at most
//	                          report.MaxSize bytes: 201 {id, page, api},
//	                          200 if it was received before, 400 invalid,
//	                          413 too large, 429 too many from this address
//	                          (Retry-After), 503 busy, 507 full
//	GET /api/reports          reports [report]
//	GET /api/reports/ID       {id, received, product, check, verified [{what,
//	                          ok, alarm, detail}], claims [{field, value}]}
//
// A release is {index, ref, product, version, sequence, type, released,
// visible, source {uri, commit}, artifacts [{name, digest, size}],
// signers, policy (the version in force), rebuilds {status: reproduced|
// waiting|mismatch|not required, need, matched [names], mismatched
// [{builder, index, problem}], waitingSeconds}, alerts [alert]}.
//
// # Failure reports
//
// A report is kept as received in DIR/reports/<sha256>.json (created
// once, never rewritten), at most MaxReports of them, each source
// address limited to Config.ReportRate an hour. Its checkable parts are
// checked when it arrives and again when the explorer starts: the bundle
// with the verifier under the pinned policy at the report's time (every
// check but minLogAge, the signed artifacts standing in for the
// downloads), the checkpoint with the log's key and the policy's
// witnesses (and against the monitor's own checkpoint of that size), the
// fork evidence with translog.Evidence.Check against the log's key, and
// the signed digest of an artifact report against the verified releases.
// Those results are "verified"; everything else in the report is
// listed apart, under "claims", as the reporter's word.
package explorer
