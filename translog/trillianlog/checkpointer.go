package trillianlog

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/google/trillian"
	"github.com/google/trillian/types"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"ssms.dev/ssms/translog"
)

// maxRound bounds the leaves one round integrates, so that a long backlog
// (a new front end over a tree fed by something else, a signer that ran
// alone for a while) is signed in steps of bounded memory.
var maxRound int64 = 1 << 16 // a variable for tests

// elect stands for checkpointer until Close: whichever front end holds the
// database lock signs checkpoints; the others retry now and then, so one
// takes over within a second of the holder's death.
func (l *Log) elect() {
	defer l.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-l.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		if err := l.checkpoint(ctx); err != nil && ctx.Err() == nil && l.opts.OnError != nil {
			l.opts.OnError(fmt.Errorf("checkpointer: %w", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * l.opts.Poll):
		}
	}
}

type checkpointer struct {
	l         *Log
	conn      *sql.Conn
	lock      string
	last      *translog.SignedCheckpoint // nil: nothing signed yet
	tail      []byte                     // the last, partial entry bundle of last
	cosigned  time.Time
	importing bool  // Import: store ends the import with its checkpoint
	next      int64 // entries given an index; -1 until sequence has read it
	sent      int64 // entries handed to Trillian, as far as this checkpointer knows
}

// checkpoint takes the lock if it is free and signs checkpoints while it
// holds it.
func (l *Log) checkpoint(ctx context.Context) error {
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return err
	}
	// Closing a sql.Conn returns it to the pool, where it would keep the
	// lock: no front end, this one included, could take it again until
	// the pool happened to hand out that connection. Release it first.
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn.ExecContext(ctx, `DO RELEASE_LOCK(?)`, lockName(l.tree))
		conn.Close()
	}()
	c := &checkpointer{l: l, conn: conn, lock: lockName(l.tree), next: -1}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, `SELECT GET_LOCK(?, 0)`, c.lock).Scan(&got); err != nil || got.Int64 != 1 {
		return err
	}
	if err := c.load(ctx); err != nil {
		return err
	}
	for {
		var mine sql.NullBool
		if err := conn.QueryRowContext(ctx, `SELECT IS_USED_LOCK(?) = CONNECTION_ID()`, c.lock).Scan(&mine); err != nil || !mine.Bool {
			return err // lost the connection, hence the lock
		}
		grew := false
		if l.Alarm() == nil {
			if grew, err = c.round(ctx); err != nil {
				return err
			}
			if !grew && time.Since(c.cosigned) > l.recosignEvery() {
				c.recosign(ctx)
			}
		}
		// An alarmed checkpointer keeps the lock, so that no other front
		// end signs either until an operator has looked.
		if !grew {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(l.opts.Poll):
			}
		}
	}
}

// lockName is the database lock whose holder is the tree's checkpointer.
func lockName(tree int64) string { return fmt.Sprintf("ssms-checkpointer-%d", tree) }

func (l *Log) recosignEvery() time.Duration {
	if l.opts.Witness.Recosign > 0 {
		return l.opts.Witness.Recosign
	}
	return time.Hour
}

// load reads the latest stored checkpoint and its partial entry bundle.
func (c *checkpointer) load(ctx context.Context) error {
	raw, err := latestCheckpoint(ctx, c.conn, c.l.tree, false)
	if err != nil {
		return err
	}
	if raw == nil {
		if k := c.l.known(); k != nil {
			c.l.raise(fmt.Errorf("the database has no checkpoint, and this front end served size %d: database restored from an older backup?", k.Size))
		}
		return nil
	}
	if c.last, err = translog.OpenCheckpoint(raw, c.l.origin, c.l.opts.Key.Verifier); err != nil {
		c.l.raise(fmt.Errorf("stored checkpoint: %v", err))
		return nil
	}
	c.cosigned = time.Now()
	if k := c.l.known(); k != nil && (k.Size > c.last.Size || k.Size == c.last.Size && k.Hash != c.last.Hash) {
		c.l.raise(fmt.Errorf("the database's latest checkpoint (size %d) is behind or beside the one this front end served (size %d): database restored from an older backup?", c.last.Size, k.Size))
		return nil
	}
	return nil
}

// loadTail reads the last, partial entry bundle of the signed tree, which
// the next round extends.
func (c *checkpointer) loadTail(ctx context.Context) error {
	w := int(c.last.Size % (1 << translog.TileHeight))
	if c.tail != nil || w == 0 {
		return nil
	}
	n := c.last.Size >> translog.TileHeight
	tail, err := c.l.tiles.read(ctx, entriesLevel, n, w)
	if errors.Is(err, errMissingTile) {
		return c.alarm(err)
	}
	if err != nil {
		return err
	}
	if err := checkBundle(tail, n, c.l.tiles.hashReader(tlog.Tree{N: c.last.Size, Hash: c.last.Hash})); err != nil {
		if errors.Is(err, errRead) {
			return err
		}
		return c.alarm(err)
	}
	c.tail = tail
	return nil
}

// round hands Trillian the entries queued since the last round, then signs
// Trillian's latest root if it grew and checks out, and reports whether it
// did.
func (c *checkpointer) round(ctx context.Context) (bool, error) {
	l := c.l
	size, hash, err := c.trillianRoot(ctx)
	if err != nil {
		return false, err
	}
	if c.last == nil {
		if err := c.checkUnsigned(ctx, size); err != nil {
			return false, err
		}
	}
	var lastSize int64
	lastHash, _ := tlog.TreeHash(0, nil)
	if c.last != nil {
		lastSize, lastHash = c.last.Size, c.last.Hash
		switch {
		case size < lastSize:
			l.raise(fmt.Errorf("Trillian's tree has size %d, smaller than the signed %d (database restored from an older backup?)", size, lastSize))
			return false, nil
		case size == lastSize && hash != lastHash:
			l.raise(fmt.Errorf("Trillian's root for size %d is not the signed one", size))
			return false, nil
		case size == lastSize:
			return false, c.sequence(ctx, size)
		}
		if lastSize > 0 {
			p, err := l.client.GetConsistencyProof(ctx, &trillian.GetConsistencyProofRequest{LogId: l.tree, FirstTreeSize: lastSize, SecondTreeSize: size})
			if err != nil {
				return false, rpcError("reading Trillian's consistency proof", err)
			}
			if err := tlog.CheckTree(hashes(p.GetProof().GetHashes()), size, hash, lastSize, lastHash); err != nil {
				l.raise(fmt.Errorf("Trillian's root of size %d is not consistent with the signed size %d: %v", size, lastSize, err))
				return false, nil
			}
		}
	}
	if err := c.sequence(ctx, size); err != nil {
		return false, err
	}
	if c.last != nil {
		if err := c.loadTail(ctx); err != nil {
			return false, err
		}
	}
	target := min(size, lastSize+maxRound)
	t, err := c.integrate(ctx, lastSize, lastHash, target)
	if err != nil {
		return false, err
	}
	ours, err := tlog.TreeHash(target, t.reader)
	if err != nil {
		return false, err
	}
	if err := c.crossCheck(ctx, target, ours, size, hash); err != nil {
		l.raise(err)
		return false, nil
	}
	cp, err := c.sign(target, ours)
	if err != nil {
		return false, err
	}
	cp = c.cosign(ctx, cp, t.reader)
	if err := c.store(ctx, cp, lastSize, t); err != nil {
		return false, err
	}
	c.last, c.tail, c.cosigned = cp, t.tail, time.Now()
	return true, nil
}

// trillianRoot reads Trillian's latest root.
func (c *checkpointer) trillianRoot(ctx context.Context) (int64, tlog.Hash, error) {
	resp, err := c.l.client.GetLatestSignedLogRoot(ctx, &trillian.GetLatestSignedLogRootRequest{LogId: c.l.tree})
	if err != nil {
		return 0, tlog.Hash{}, rpcError("reading Trillian's root", err)
	}
	var root types.LogRootV1
	if err := root.UnmarshalBinary(resp.GetSignedLogRoot().GetLogRoot()); err != nil || len(root.RootHash) != tlog.HashSize {
		return 0, tlog.Hash{}, fmt.Errorf("Trillian's log root does not parse: %v", err)
	}
	return int64(root.TreeSize), tlog.Hash(root.RootHash), nil
}

// checkUnsigned checks a tree of which nothing was ever signed before its
// first checkpoint: it must be empty, Trillian's tree and the log's
// sequence alike (a front end takes no entry before it serves a
// checkpoint). Anything else is an import that did not finish, or a
// database restored without its checkpoints: signing it would fork from
// whatever the log signed before.
func (c *checkpointer) checkUnsigned(ctx context.Context, size int64) error {
	if n, err := importing(ctx, c.conn, c.l.tree); err != nil || n > 0 {
		if err == nil {
			err = errImporting
		}
		return err
	}
	var indexed int
	if err := c.conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM SsmsQueue WHERE TreeId = ? AND LeafIndex IS NOT NULL LIMIT 1`, c.l.tree).Scan(&indexed); err != nil {
		return err
	}
	if size > 0 || indexed > 0 {
		return c.alarm(fmt.Errorf("the log never signed a checkpoint, but Trillian's tree has %d leaves and its sequence %d indexed entries: a migration that did not finish, or a database restored without its checkpoints", size, indexed))
	}
	return nil
}

// crossCheck checks the root computed from the log's sequence against
// Trillian's own root: equal at the same size, a prefix of it otherwise.
func (c *checkpointer) crossCheck(ctx context.Context, n int64, ours tlog.Hash, size int64, hash tlog.Hash) error {
	if n == size {
		if ours != hash {
			return fmt.Errorf("the root of the log's sequence at size %d is not Trillian's root: Trillian holds other leaves than the log handed it", n)
		}
		return nil
	}
	if n == 0 {
		return nil
	}
	p, err := c.l.client.GetConsistencyProof(ctx, &trillian.GetConsistencyProofRequest{LogId: c.l.tree, FirstTreeSize: n, SecondTreeSize: size})
	if err != nil {
		return rpcError("reading Trillian's consistency proof", err)
	}
	if err := tlog.CheckTree(hashes(p.GetProof().GetHashes()), size, hash, n, ours); err != nil {
		return fmt.Errorf("the root of the log's sequence at size %d is not a prefix of Trillian's root of size %d (Trillian holds other leaves than the log handed it): %v", n, size, err)
	}
	return nil
}

func hashes(b [][]byte) []tlog.Hash {
	out := make([]tlog.Hash, len(b))
	for i, h := range b {
		copy(out[i][:], h)
	}
	return out
}

// tiled is what a round computed from the new leaves.
type tiled struct {
	size    int64
	reader  tlog.HashReader
	bundles map[int64][]byte // entry bundles that changed, by index
	tail    []byte
}

// integrate reads entries [from, to) from the log's sequence and computes
// their stored hashes over the tree of size from (read from the tiles, each
// checked against its signed root) and their entry bundles. The caller
// checks the root against Trillian's, which hashed the leaves it was handed
// on its own: equal roots mean Trillian holds exactly these entries.
func (c *checkpointer) integrate(ctx context.Context, from int64, fromHash tlog.Hash, to int64) (*tiled, error) {
	base := tlog.StoredHashCount(from)
	var pending []tlog.Hash
	var old tlog.HashReader
	if from > 0 {
		old = c.l.tiles.hashReader(tlog.Tree{N: from, Hash: fromHash})
	}
	reader := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		var oldIdx []int64
		var oldAt []int
		for i, idx := range indexes {
			if idx >= base {
				if idx-base >= int64(len(pending)) {
					return nil, fmt.Errorf("stored hash %d is not computed yet", idx)
				}
				out[i] = pending[idx-base]
			} else {
				oldIdx, oldAt = append(oldIdx, idx), append(oldAt, i)
			}
		}
		if len(oldIdx) > 0 {
			hs, err := old.ReadHashes(oldIdx)
			if err != nil {
				return nil, err
			}
			for j, h := range hs {
				out[oldAt[j]] = h
			}
		}
		return out, nil
	})
	t := &tiled{size: to, reader: reader, bundles: map[int64][]byte{}}
	bundle := c.tail
	for i := from; i < to; {
		leaves, err := c.indexed(ctx, i, min(to, i+1024))
		if err != nil {
			return nil, err
		}
		for _, leaf := range leaves {
			e := leaf.LeafValue
			hs, err := tlog.StoredHashes(i, e, reader)
			if err != nil {
				return nil, err
			}
			pending = append(pending, hs...)
			bundle = binary.BigEndian.AppendUint16(bundle, uint16(len(e)))
			bundle = append(bundle, e...)
			i++
			if i%(1<<translog.TileHeight) == 0 || i == to {
				t.bundles[(i-1)>>translog.TileHeight] = bundle
				bundle = nil
			}
		}
	}
	if to%(1<<translog.TileHeight) != 0 {
		t.tail = t.bundles[to>>translog.TileHeight]
	}
	return t, nil
}

func (c *checkpointer) alarm(err error) error {
	c.l.raise(err)
	return err
}

func (c *checkpointer) sign(size int64, root tlog.Hash) (*translog.SignedCheckpoint, error) {
	k := c.l.opts.Key
	body := translog.Checkpoint{Origin: c.l.origin, Size: size, Hash: root}
	signed, err := note.Sign(&note.Note{Text: string(body.Marshal())}, k.Signer)
	if err != nil {
		return nil, err
	}
	return translog.OpenCheckpoint(signed, c.l.origin, k.Verifier)
}

// cosign has the witnesses cosign cp, proving from the hashes in r; it
// returns cp with the cosignatures, or cp alone if that failed (a log
// whose witnesses are down degrades, it does not stop).
func (c *checkpointer) cosign(ctx context.Context, cp *translog.SignedCheckpoint, r tlog.HashReader) *translog.SignedCheckpoint {
	w := c.l.opts.Witness
	if w.Cosigner == nil {
		return cp
	}
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	raw, err := w.Cosigner.Cosign(ctx, cp, func(old int64) ([]tlog.Hash, error) {
		if old == 0 || old == cp.Size {
			return []tlog.Hash{}, nil
		}
		return tlog.ProveTree(cp.Size, old, r)
	})
	var got *translog.SignedCheckpoint
	if err == nil {
		got, err = translog.OpenCheckpoint(translog.OneSignaturePerKey(raw), c.l.origin, c.l.opts.Key.Verifier)
	}
	if err == nil && (got.Size != cp.Size || got.Hash != cp.Hash) {
		err = fmt.Errorf("cosigned checkpoint is for size %d, the log signed %d", got.Size, cp.Size)
	}
	if err != nil {
		if w.OnError != nil {
			w.OnError(err)
		}
		return cp
	}
	return got
}

// recosign has the witnesses cosign the unchanged checkpoint again, so
// that an idle log's cosignatures stay fresh.
func (c *checkpointer) recosign(ctx context.Context) {
	c.cosigned = time.Now()
	if c.last == nil || c.l.opts.Witness.Cosigner == nil {
		return
	}
	cp := c.cosign(ctx, c.last, c.l.tiles.hashReader(tlog.Tree{N: c.last.Size, Hash: c.last.Hash}))
	if cp == c.last {
		return
	}
	if _, err := c.conn.ExecContext(ctx, `UPDATE SsmsCheckpoint SET Note = ? WHERE TreeId = ? AND Size = ? AND RootHash = ?`,
		cp.Raw, c.l.tree, cp.Size, cp.Hash[:]); err == nil {
		c.last = cp
	}
}

// errRaced means another checkpointer stored a checkpoint meanwhile.
var errRaced = errors.New("another checkpointer stored a checkpoint meanwhile")

// store writes the new tiles and bundles, up to t.size, and the checkpoint
// cp in one transaction, provided the latest stored checkpoint is still the
// one signed before. With cp nil (an import's intermediate steps) it
// writes the tiles alone.
func (c *checkpointer) store(ctx context.Context, cp *translog.SignedCheckpoint, from int64, t *tiled) error {
	tx, err := c.conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	raw, err := latestCheckpoint(ctx, tx, c.l.tree, true)
	if err != nil {
		return err
	}
	if (c.last == nil) != (raw == nil) || (c.last != nil && string(raw) != string(c.last.Raw)) {
		return errRaced
	}
	for _, tile := range tlog.NewTiles(translog.TileHeight, from, t.size) {
		data, err := tlog.ReadTileData(tile, t.reader)
		if err != nil {
			return err
		}
		if err := writeTileRow(ctx, tx, c.l.tree, int64(tile.L), tile.N, tile.W, data); err != nil {
			return err
		}
	}
	// Full bundles only (see tileCache.bundle); the sequence no longer
	// needs to keep their entries, which Trillian and the bundle hold.
	for n, b := range t.bundles {
		if t.size < (n+1)<<translog.TileHeight {
			continue
		}
		if err := writeTileRow(ctx, tx, c.l.tree, entriesLevel, n, 1<<translog.TileHeight, b); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE SsmsQueue SET Entry = '' WHERE TreeId = ? AND LeafIndex >= ? AND LeafIndex < ?`,
			c.l.tree, n<<translog.TileHeight, (n+1)<<translog.TileHeight); err != nil {
			return err
		}
	}
	if cp == nil {
		return tx.Commit()
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO SsmsCheckpoint(TreeId, Size, RootHash, Note) VALUES (?, ?, ?, ?)`,
		c.l.tree, cp.Size, cp.Hash[:], cp.Raw); err != nil {
		return err
	}
	if c.importing {
		// The imported checkpoint is stored: the tree is the log's.
		if _, err := tx.ExecContext(ctx, `DELETE FROM SsmsImport WHERE TreeId = ?`, c.l.tree); err != nil {
			return err
		}
	}
	return tx.Commit()
}
