// Package trillianlog serves a translog log from a Trillian log tree over
// MySQL or MariaDB, so that `ssms log serve --backend trillian` can run as
// several stateless front ends behind a load balancer. It implements
// translog.Backend: the HTTP API, checkpoints, tiles and proofs are the
// embedded store's, byte for byte for the same entries.
//
// Only cmd/ssms imports this package: it links gRPC, which the SMP binaries
// must not (TestSMPBinariesDoNotLinkGRPC).
//
// # Who does what
//
// The log sequences, Trillian stores and checks. A front end writes each
// entry it takes into the log's sequence, a table in the database keyed by
// the entry's RFC 6962 leaf hash (so the same bytes are one entry, whichever
// front end took them), in one INSERT with whatever else arrived at the
// same moment. Trillian's own QueueLeaf costs a database transaction per
// entry, which held a LOG tree to a few hundred entries a second; batching
// is what lets the log take more than a thousand.
//
// One front end at a time is the checkpointer, elected by a MySQL named
// lock (GET_LOCK, held by one connection: it is released when that front
// end dies or loses its connection, and everything the checkpointer writes
// goes through that connection). In each round it:
//
//  1. reads Trillian's latest root and checks it against the last signed
//     checkpoint (the same root for the same size, a consistency proof
//     from it otherwise);
//  2. gives the entries queued without an index the next indexes, records
//     them, and only then hands them to Trillian's PREORDERED_LOG tree
//     (AddSequencedLeaves, up to 2,048 per call), whose signer integrates
//     them; entries given an index that Trillian may not hold are handed
//     over again first;
//  3. when Trillian's tree grew, builds the tlog-tiles hash tiles and entry
//     bundles from the log's sequence and checks that their root is
//     Trillian's root: Trillian hashed the leaves on its own, so equal
//     roots mean it holds exactly the entries at the indexes the log gave;
//  4. signs the checkpoint (and has witnesses cosign it, as the embedded
//     store does);
//  5. in one transaction, checks that the latest stored checkpoint is still
//     the one it started from, and stores the tiles and the checkpoint.
//
// A root that fails 1 or 3, a tree with leaves the log never gave an index
// to, a recorded entry whose bytes do not match its leaf hash, or a
// different root for the signed size (Trillian's database restored from an
// old backup, a bug, an attack), is an alarm: it is reported through
// Options.OnAlarm and never signed, and the checkpointer stops signing until
// restarted. The checkpoint table's key is (tree, size), so no two roots are
// ever stored for one size, and the sequence's unique (tree, index) key
// means no index is ever given twice, even by two front ends that both
// believe they hold the lock.
//
// Import moves an embedded log onto a new tree, keeping its checkpoints
// (ssms log migrate).
//
// Every front end polls the latest stored checkpoint, verifies its
// signature and that it is consistent with the one it served before (an
// alarm otherwise; with Options.StateFile, also across restarts, so that a
// database restored from an older backup is caught), and answers an
// addition once a checkpoint covers it: it finds the index of its leaf hash
// in the new level-0 tile (or, for an entry taken before, in the sequence).
// Proofs are computed from the stored tiles with sumdb/tlog's
// TileHashReader, which checks every tile it reads against the signed
// root. A tile once checked is kept, and answers later proofs without
// being hashed up to the root again: the front end serves only
// checkpoints that extend each other, and a tile's hashes never change as
// the tree grows.
package trillianlog
