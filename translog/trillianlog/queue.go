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

// One INSERT takes at most maxQueueRows entries and about maxQueueBytes
// (well under MySQL's and MariaDB's default max_allowed_packet, 16 MiB);
// queueWriters INSERTs run at once per front end. A transaction per entry
// is what holds Trillian's own QueueLeaf to a few hundred entries a second
// on MySQL: entries that arrive together are written together.
const (
	maxQueueRows  = 1024
	maxQueueBytes = 4 << 20
	queueWriters  = 4
)

// queued is an entry on its way into SsmsQueue.
type queued struct {
	entry []byte
	hash  tlog.Hash
	done  chan error // buffered: the writer never waits for the caller
	// dup is set before done when the entry had an index already: it may
	// be covered by a checkpoint the front end served long ago.
	dup bool
}

// enqueue writes entry into SsmsQueue, with whatever else is being added
// at the moment, and reports whether it had an index already.
// Once it returns nil the entry is durable: the checkpointer will give it
// an index even if this front end dies.
func (l *Log) enqueue(ctx context.Context, entry []byte, h tlog.Hash) (dup bool, err error) {
	q := &queued{entry: entry, hash: h, done: make(chan error, 1)}
	select {
	case l.inbox <- q:
	case <-ctx.Done():
		return false, ctx.Err()
	case <-l.stop:
		return false, translog.ErrClosed
	}
	select {
	case err := <-q.done:
		return q.dup, err
	case <-ctx.Done():
		return false, ctx.Err()
	case <-l.stop:
		return false, translog.ErrClosed
	}
}

// writeQueue takes the entries waiting in the inbox, as many as one INSERT
// takes, and writes them, until Close.
func (l *Log) writeQueue() {
	defer l.wg.Done()
	for {
		var batch []*queued
		select {
		case q := <-l.inbox:
			batch = append(batch, q)
		case <-l.stop:
			return
		}
		size := len(batch[0].entry)
	fill:
		for len(batch) < maxQueueRows && size < maxQueueBytes {
			select {
			case q := <-l.inbox:
				batch, size = append(batch, q), size+len(q.entry)
			default:
				break fill
			}
		}
		err := l.insertQueued(batch)
		for _, q := range batch {
			q.done <- err
		}
	}
}

// insertQueued writes batch in one statement. A row already there (the
// same bytes, taken before by any front end) is left as it is.
func (l *Log) insertQueued(batch []*queued) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var q strings.Builder
	q.WriteString(`INSERT INTO SsmsQueue(TreeId, LeafHash, Entry) VALUES `)
	args := make([]any, 0, 3*len(batch))
	for i, e := range batch {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?)")
		args = append(args, l.tree, e.hash[:], e.entry)
	}
	// A no-op update rather than INSERT IGNORE, which would also turn
	// real errors into warnings.
	q.WriteString(` ON DUPLICATE KEY UPDATE TreeId = TreeId`)
	res, err := l.db.ExecContext(ctx, q.String(), args...)
	if err != nil {
		return fmt.Errorf("%w: queueing the entry: %v", translog.ErrOverloaded, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == int64(len(batch)) {
		return nil // all new (connect turns clientFoundRows off)
	}
	// Which of them had an index already, taken before by any front end?
	// An entry without one gets it later, and the checkpoint that covers
	// it answers it.
	q.Reset()
	args = append(args[:0], l.tree)
	q.WriteString(`SELECT LeafHash FROM SsmsQueue WHERE TreeId = ? AND LeafIndex IS NOT NULL AND LeafHash IN (?`)
	for i, e := range batch {
		if i > 0 {
			q.WriteString(", ?")
		}
		args = append(args, e.hash[:])
	}
	q.WriteString(`)`)
	rows, err := l.db.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return fmt.Errorf("%w: queueing the entry: %v", translog.ErrOverloaded, err)
	}
	defer rows.Close()
	indexed := map[tlog.Hash]bool{}
	for rows.Next() {
		var h []byte
		if err := rows.Scan(&h); err != nil {
			return fmt.Errorf("%w: queueing the entry: %v", translog.ErrOverloaded, err)
		}
		indexed[tlog.Hash(h)] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%w: queueing the entry: %v", translog.ErrOverloaded, err)
	}
	for _, e := range batch {
		e.dup = indexed[e.hash]
	}
	return nil
}

// lookup returns the index of the entry whose leaf hash is h if the
// checkpoint this front end serves covers it.
func (l *Log) lookup(ctx context.Context, h tlog.Hash) (int64, *translog.SignedCheckpoint, bool) {
	cp := l.Checkpoint()
	var i sql.NullInt64
	err := l.db.QueryRowContext(ctx, `SELECT LeafIndex FROM SsmsQueue WHERE TreeId = ? AND LeafHash = ?`, l.tree, h[:]).Scan(&i)
	if err != nil || !i.Valid || i.Int64 >= cp.Size {
		if err != nil && !errors.Is(err, sql.ErrNoRows) && l.opts.OnError != nil {
			l.opts.OnError(fmt.Errorf("looking up an entry queued before: %w", err))
		}
		return 0, nil, false
	}
	return i.Int64, cp, true
}
