package trillianlog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"ssms.dev/ssms/translog"
)

// importChunk is how many entries Import records in one statement, at
// most (and about maxQueueBytes).
const importChunk = 1024

// ImportProgress is told how far an import got: stage is "recording",
// "handing over", "integrating" or "tiling", done of total entries.
type ImportProgress func(stage string, done, total int64)

// Import moves the embedded log src onto the new, empty Trillian tree
// tree, keeping every checkpoint it signed: it records src's entries in
// the log's sequence at their indexes, hands them to Trillian, waits until
// Trillian has integrated them, builds the tiles and entry bundles, checks
// that the root of the entries is both Trillian's root and the root of
// src's latest checkpoint, and stores that checkpoint, exactly as src
// signed and witnesses cosigned it, as the tree's first. Front ends started
// afterwards go on from it: clients, witnesses and monitors see the same
// log, one checkpoint after the other.
//
// key must be src's key. No front end of the tree may run meanwhile:
// Import holds the checkpointer lock and fails if it cannot take it. An
// import that was interrupted is resumed by running it again; one that
// completed returns src's checkpoint again.
func Import(ctx context.Context, dsn, addr string, tree int64, key *translog.Key, src *translog.Store, progress ImportProgress) (*translog.SignedCheckpoint, error) {
	if progress == nil {
		progress = func(string, int64, int64) {}
	}
	if key.VKey != src.VerifierKey() {
		return nil, fmt.Errorf("the key given is %s, the embedded log's is %s", key.VKey, src.VerifierKey())
	}
	anchor := src.Checkpoint()
	l, err := connect(ctx, dsn, addr, Options{TreeID: tree, Key: key})
	if err != nil {
		return nil, err
	}
	defer l.conn.Close()
	defer l.db.Close()
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	defer conn.Close()
	c := &checkpointer{l: l, conn: conn, lock: lockName(tree), next: -1}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, `SELECT GET_LOCK(?, 0)`, c.lock).Scan(&got); err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	if got.Int64 != 1 {
		return nil, fmt.Errorf("a front end of tree %d is running (it holds the checkpointer lock): stop every front end of the tree before importing", tree)
	}
	raw, err := latestCheckpoint(ctx, conn, tree, false)
	switch {
	case err != nil:
		return nil, fmt.Errorf("database: %w", err)
	case raw != nil && string(raw) == string(anchor.Raw):
		return anchor, nil
	case raw != nil:
		return nil, fmt.Errorf("tree %d has checkpoints of its own: import only into a new tree", tree)
	}
	// From here on no front end serves or signs the tree until the
	// imported checkpoint is stored, even if this import dies.
	if _, err := conn.ExecContext(ctx, `INSERT INTO SsmsImport(TreeId, Size) VALUES (?, ?) ON DUPLICATE KEY UPDATE Size = VALUES(Size)`, tree, anchor.Size); err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	c.importing = true
	if err := c.record(ctx, src, anchor.Size, progress); err != nil {
		return nil, err
	}
	size, hash, err := c.handOverAll(ctx, anchor.Size, progress)
	if err != nil {
		return nil, err
	}
	if err := c.tileAll(ctx, anchor, size, hash, progress); err != nil {
		return nil, err
	}
	return anchor, nil
}

// record writes src's entries [0, n) into the log's sequence at their
// indexes. Rows an interrupted import wrote are kept; anything else in the
// tree's sequence (an entry a front end took, a row at another index) is
// refused.
func (c *checkpointer) record(ctx context.Context, src *translog.Store, n int64, progress ImportProgress) error {
	var stray int64
	if err := c.conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM SsmsQueue WHERE TreeId = ? AND (LeafIndex IS NULL OR LeafIndex >= ?)`, c.l.tree, n).Scan(&stray); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if stray > 0 {
		return fmt.Errorf("tree %d's sequence holds %d entries that are not the embedded log's: import only into a new tree", c.l.tree, stray)
	}
	for first := int64(0); first < n; {
		progress("recording", first, n)
		var q strings.Builder
		var args []any
		q.WriteString(`INSERT INTO SsmsQueue(TreeId, LeafHash, Entry, LeafIndex) VALUES `)
		count, size := int64(0), 0
		for ; first+count < n && count < importChunk && size < maxQueueBytes; count++ {
			i := first + count
			e, err := src.Entry(i)
			if err != nil {
				return fmt.Errorf("embedded log: entry %d: %w", i, err)
			}
			h := tlog.RecordHash(e)
			if count > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?)")
			args, size = append(args, c.l.tree, h[:], e, i), size+len(e)
		}
		// A row an interrupted import wrote is kept, with its bytes put
		// back if a tiling step had cleared them (tiling starts over).
		q.WriteString(` ON DUPLICATE KEY UPDATE Entry = IF(Entry = '' AND LeafIndex = VALUES(LeafIndex), VALUES(Entry), Entry)`)
		if _, err := c.conn.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("database: %w", err)
		}
		// A row that was there already must be this entry at this index.
		var have int64
		if err := c.conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM SsmsQueue WHERE TreeId = ? AND LeafIndex >= ? AND LeafIndex < ?`,
			c.l.tree, first, first+count).Scan(&have); err != nil {
			return fmt.Errorf("database: %w", err)
		}
		if have != count {
			return fmt.Errorf("tree %d's sequence holds entries [%d, %d) at other indexes than the embedded log: import only into a new tree", c.l.tree, first, first+count)
		}
		first += count
	}
	progress("recording", n, n)
	return nil
}

// handOverAll hands the recorded entries to Trillian and waits until its
// tree holds all n; it returns Trillian's root.
func (c *checkpointer) handOverAll(ctx context.Context, n int64, progress ImportProgress) (int64, tlog.Hash, error) {
	for {
		size, hash, err := c.trillianRoot(ctx)
		if err != nil {
			return 0, tlog.Hash{}, err
		}
		if c.next >= 0 && c.sent >= n && size >= n {
			return size, hash, nil
		}
		if err := c.sequence(ctx, size); err != nil {
			return 0, tlog.Hash{}, err
		}
		if c.sent < n {
			progress("handing over", c.sent, n)
			continue
		}
		progress("integrating", size, n)
		select {
		case <-ctx.Done():
			return 0, tlog.Hash{}, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// tileAll builds and stores the tiles and bundles of entries [0,
// anchor.Size) in steps of maxRound, checks each step's root against
// Trillian's, the last against anchor's, and stores anchor with the last.
func (c *checkpointer) tileAll(ctx context.Context, anchor *translog.SignedCheckpoint, size int64, hash tlog.Hash, progress ImportProgress) error {
	n := anchor.Size
	from, fromHash := int64(0), tlog.Hash{}
	if h, err := tlog.TreeHash(0, nil); err == nil {
		fromHash = h
	}
	for from < n {
		progress("tiling", from, n)
		to := min(n, from+maxRound)
		t, err := c.integrate(ctx, from, fromHash, to)
		if err != nil {
			return err
		}
		ours, err := tlog.TreeHash(to, t.reader)
		if err != nil {
			return err
		}
		if err := c.crossCheck(ctx, to, ours, size, hash); err != nil {
			return err
		}
		var cp *translog.SignedCheckpoint
		if to == n {
			if ours != anchor.Hash {
				return errors.New("the embedded log's entries do not hash to the root of its checkpoint")
			}
			cp = anchor
		}
		if err := c.store(ctx, cp, from, t); err != nil {
			return fmt.Errorf("database: %w", err)
		}
		c.tail, from, fromHash = t.tail, to, ours
	}
	if n == 0 {
		return c.store(ctx, anchor, 0, &tiled{}) // no tiles in an empty tree
	}
	progress("tiling", n, n)
	return nil
}
