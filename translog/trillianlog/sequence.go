package trillianlog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/google/trillian"
	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/grpc/codes"

	"ssms.dev/ssms/translog"
)

// maxSequence and maxHandOverBytes bound the entries one round gives
// indexes to and hands to Trillian in one AddSequencedLeaves call (one
// transaction in Trillian; gRPC refuses messages over 4 MiB unless told
// otherwise, and entries may be 64 KiB); maxAhead bounds how far the
// indexes given may run ahead of Trillian's tree, so that a Trillian that
// integrates slowly slows the log down instead of piling work up in it.
const (
	maxSequence      = 2048
	maxHandOverBytes = 2 << 20
	maxAhead         = 4 * maxSequence
)

// sequence gives the entries queued without an index the next indexes,
// records them, and hands them to Trillian, whose tree has size leaves;
// Trillian's signer integrates them in its next pass and a later round
// signs them. Entries given an index that Trillian may not hold (a
// checkpointer that died between recording and handing over, a call that
// failed) are handed over again first: Trillian answers a leaf it holds
// already with a per-leaf error and keeps the one it has, and integrate
// checks every leaf against the index the log gave.
//
// Only the holder of the checkpointer lock sequences, and it writes
// through the connection that holds the lock, so a checkpointer that lost
// the lock cannot record anything; the unique index on (TreeId, LeafIndex)
// is the last word if two ever tried.
func (c *checkpointer) sequence(ctx context.Context, size int64) error {
	if c.next < 0 {
		var top sql.NullInt64
		if err := c.conn.QueryRowContext(ctx, `SELECT MAX(LeafIndex) FROM SsmsQueue WHERE TreeId = ?`, c.l.tree).Scan(&top); err != nil {
			return err
		}
		c.next, c.sent = 0, size
		if top.Valid {
			c.next = top.Int64 + 1
		}
	}
	if size > c.next {
		return c.alarm(fmt.Errorf("Trillian's tree has %d leaves, but the log gave indexes to %d entries: leaves were added to the tree behind the log's back", size, c.next))
	}
	c.sent = max(c.sent, size)
	if c.sent < c.next {
		leaves, err := c.indexed(ctx, c.sent, min(c.next, c.sent+maxSequence))
		if err != nil {
			return err
		}
		if err := c.handOver(ctx, leaves); err != nil {
			return err
		}
		c.sent += int64(len(leaves))
		return nil
	}
	if c.next-size >= maxAhead {
		return nil
	}
	leaves, err := c.assign(ctx)
	if err != nil || len(leaves) == 0 {
		return err
	}
	c.next += int64(len(leaves))
	if err := c.handOver(ctx, leaves); err != nil {
		return err
	}
	c.sent = c.next
	return nil
}

// assign gives the oldest entries without an index the indexes from
// c.next on, in one transaction, and returns them as Trillian's leaves.
func (c *checkpointer) assign(ctx context.Context) ([]*trillian.LogLeaf, error) {
	rows, err := c.conn.QueryContext(ctx, `SELECT LeafHash, Entry FROM SsmsQueue WHERE TreeId = ? AND LeafIndex IS NULL ORDER BY Seq LIMIT ?`, c.l.tree, maxSequence)
	if err != nil {
		return nil, err
	}
	var leaves []*trillian.LogLeaf
	size := 0
	for size < maxHandOverBytes && rows.Next() {
		leaf := &trillian.LogLeaf{LeafIndex: c.next + int64(len(leaves))}
		if err := rows.Scan(&leaf.LeafIdentityHash, &leaf.LeafValue); err != nil {
			rows.Close()
			return nil, err
		}
		leaves, size = append(leaves, leaf), size+len(leaf.LeafValue)
	}
	if err := rows.Close(); err != nil || rows.Err() != nil || len(leaves) == 0 {
		return nil, firstErr(err, rows.Err())
	}
	var q strings.Builder
	args := make([]any, 0, 3*len(leaves)+1)
	q.WriteString(`UPDATE SsmsQueue SET LeafIndex = CASE LeafHash`)
	for _, leaf := range leaves {
		q.WriteString(` WHEN ? THEN ?`)
		args = append(args, leaf.LeafIdentityHash, leaf.LeafIndex)
	}
	q.WriteString(` END WHERE TreeId = ? AND LeafIndex IS NULL AND LeafHash IN (?` + strings.Repeat(`, ?`, len(leaves)-1) + `)`)
	args = append(args, c.l.tree)
	for _, leaf := range leaves {
		args = append(args, leaf.LeafIdentityHash)
	}
	tx, err := c.conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, q.String(), args...)
	if err != nil {
		return nil, err
	}
	if n, err := res.RowsAffected(); err != nil || n != int64(len(leaves)) {
		return nil, fmt.Errorf("giving %d entries their indexes changed %d rows: another checkpointer?", len(leaves), n)
	}
	return leaves, tx.Commit()
}

// indexed returns the entries given indexes [from, to), as Trillian's
// leaves, or the first of them, at least one, up to maxHandOverBytes;
// every index in the range must have its entry.
func (c *checkpointer) indexed(ctx context.Context, from, to int64) ([]*trillian.LogLeaf, error) {
	rows, err := c.conn.QueryContext(ctx, `SELECT LeafIndex, LeafHash, Entry FROM SsmsQueue WHERE TreeId = ? AND LeafIndex >= ? AND LeafIndex < ? ORDER BY LeafIndex`, c.l.tree, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var leaves []*trillian.LogLeaf
	size := 0
	for size < maxHandOverBytes && rows.Next() {
		leaf := &trillian.LogLeaf{}
		if err := rows.Scan(&leaf.LeafIndex, &leaf.LeafIdentityHash, &leaf.LeafValue); err != nil {
			return nil, err
		}
		if want := from + int64(len(leaves)); leaf.LeafIndex != want || len(leaf.LeafValue) == 0 {
			return nil, c.alarm(fmt.Errorf("the log's sequence has no entry at index %d, which it gave", want))
		}
		if len(leaf.LeafValue) > translog.MaxEntrySize || tlog.RecordHash(leaf.LeafValue) != tlog.Hash(leaf.LeafIdentityHash) {
			return nil, c.alarm(fmt.Errorf("the log's sequence holds at index %d an entry whose leaf hash is not the one recorded", leaf.LeafIndex))
		}
		leaves, size = append(leaves, leaf), size+len(leaf.LeafValue)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(leaves) == 0 || size < maxHandOverBytes && int64(len(leaves)) != to-from {
		return nil, c.alarm(fmt.Errorf("the log's sequence has no entry at index %d, which it gave", from+int64(len(leaves))))
	}
	return leaves, nil
}

// handOver adds leaves to Trillian's tree at their indexes. Trillian
// answers FailedPrecondition for a leaf whose index or identity it holds
// already: that is right when the leaf was handed over before, and an
// alarm when another leaf holds the index, or the leaf's identity is held
// at another index (which would leave a hole the tree never grows past).
func (c *checkpointer) handOver(ctx context.Context, leaves []*trillian.LogLeaf) error {
	resp, err := c.l.client.AddSequencedLeaves(ctx, &trillian.AddSequencedLeavesRequest{LogId: c.l.tree, Leaves: leaves})
	if err != nil {
		return rpcError("handing entries to Trillian", err)
	}
	for i, r := range resp.GetResults() {
		s := r.GetStatus()
		switch {
		case s == nil || codes.Code(s.Code) == codes.OK:
		case codes.Code(s.Code) == codes.FailedPrecondition:
			if err := c.checkHeld(ctx, leaves[i]); err != nil {
				return err
			}
		default:
			return fmt.Errorf("handing entry %d to Trillian: %s", leaves[i].LeafIndex, s.Message)
		}
	}
	return nil
}

// checkHeld checks, in Trillian's own table of sequenced leaves (in the
// same database, schema storage/mysql/schema/storage.sql), that Trillian
// holds leaf at its index.
func (c *checkpointer) checkHeld(ctx context.Context, leaf *trillian.LogLeaf) error {
	var at uint64
	err := c.conn.QueryRowContext(ctx, `SELECT SequenceNumber FROM SequencedLeafData WHERE TreeId = ? AND LeafIdentityHash = ?`,
		c.l.tree, leaf.LeafIdentityHash).Scan(&at)
	switch {
	case err == nil && at == uint64(leaf.LeafIndex):
		return nil
	case err == nil:
		return c.alarm(fmt.Errorf("Trillian holds the entry the log gave index %d at index %d: a leaf with its identity was added to the tree behind the log's back", leaf.LeafIndex, at))
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("reading Trillian's sequenced leaves: %w", err)
	}
	var other []byte
	err = c.conn.QueryRowContext(ctx, `SELECT LeafIdentityHash FROM SequencedLeafData WHERE TreeId = ? AND SequenceNumber = ?`,
		c.l.tree, leaf.LeafIndex).Scan(&other)
	if err == nil {
		return c.alarm(fmt.Errorf("Trillian holds another leaf at index %d, which the log gave to another entry: added to the tree behind the log's back", leaf.LeafIndex))
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("reading Trillian's sequenced leaves: %w", err)
	}
	// Trillian writes a leaf's data and its index in one transaction:
	// data without an index was written into its tables directly.
	var one int
	err = c.conn.QueryRowContext(ctx, `SELECT 1 FROM LeafData WHERE TreeId = ? AND LeafIdentityHash = ?`, c.l.tree, leaf.LeafIdentityHash).Scan(&one)
	if err == nil {
		return c.alarm(fmt.Errorf("Trillian refuses entry %d: its tables hold the entry's identity without an index, written there behind the log's back", leaf.LeafIndex))
	}
	return fmt.Errorf("Trillian refused entry %d and does not hold it: %v", leaf.LeafIndex, err)
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
