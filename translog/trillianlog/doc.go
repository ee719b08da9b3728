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
// Trillian sequences: a front end queues each entry (QueueLeaf, the leaf
// identity hash being the RFC 6962 leaf hash, so the same bytes get the
// same index whichever front end took them) and Trillian's signer
// integrates it. Trillian's own signed log root is only an input: the log's
// checkpoints are C2SP signed notes under the log's note key.
//
// One front end at a time is the checkpointer, elected by a MySQL named
// lock (GET_LOCK, held by one connection: it is released when that front
// end dies or loses its connection). In each round it reads Trillian's
// latest root and, when it grew:
//
//  1. verifies Trillian's consistency proof from the last signed size;
//  2. reads the new leaves, checks each leaf hash against its bytes,
//     computes the tlog-tiles hash tiles and entry bundles, and checks that
//     the root it computed is Trillian's;
//  3. signs the checkpoint (and has witnesses cosign it, as the embedded
//     store does);
//  4. in one transaction, checks that the latest stored checkpoint is still
//     the one it started from, and stores the tiles and the checkpoint.
//
// A root that fails 1 or 2, or that is smaller than the signed size, or a
// different root for the signed size (Trillian's database restored from an
// old backup, a bug, an attack), is an alarm: it is reported through
// Options.OnAlarm and never signed, and the checkpointer stops signing until
// restarted. The checkpoint table's key is (tree, size), so no two roots are
// ever stored for one size, even by two front ends that both believe they
// hold the lock.
//
// Every front end polls the latest stored checkpoint, verifies its
// signature and that it is consistent with the one it served before (an
// alarm otherwise; with Options.StateFile, also across restarts, so that a
// database restored from an older backup is caught), and answers an addition once a checkpoint covers it:
// it finds the index of its leaf hash in the new level-0 tile. Proofs are
// computed from the stored tiles with sumdb/tlog's TileHashReader, which
// checks every tile it reads against the signed root. Tiles are immutable
// once full, and a partial tile is a prefix of the stored wider one, so a
// front end caches them.
package trillianlog
