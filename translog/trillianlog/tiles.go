package trillianlog

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/mod/sumdb/tlog"

	"ssms.dev/ssms/translog"
)

// maxCachedTiles bounds the hash tiles a front end keeps in memory: 8,192
// tiles of at most 8 KiB, 64 MiB, which covers every tile a proof needs in
// a log of 2^21 entries and the right edge of any larger one.
const maxCachedTiles = 8192

// errMissingTile means the database lacks a tile that a stored checkpoint
// covers.
var errMissingTile = errors.New("the database lacks a tile of a signed checkpoint")

// errRead means the database could not be read (it is down, or a
// connection broke): it says nothing about what it holds, and is never
// an alarm.
var errRead = errors.New("reading the database")

// tileCache reads tiles from the database, keeping hash tiles in memory.
// A tile only grows, and a narrower one is a prefix of a wider one, so a
// cached tile answers any width up to its own. It is sumdb/tlog's
// TileReader for TileHashReader, which checks what it reads against a
// signed root.
type tileCache struct {
	db   *sql.DB
	tree int64

	mu    sync.Mutex
	tiles map[[2]int64][]byte
	// verified holds the widest data of each tile that TileHashReader
	// checked against a signed root (SaveTiles). The front end serves only
	// checkpoints that extend each other, and a tile's hashes never change
	// as the tree grows, so these answer later reads without hashing them
	// again up to the root.
	verified map[[2]int64][]byte
	// hashes memoises stored hashes computed from verified tiles: a hash
	// above a tile's bottom row costs up to 255 SHA-256 calls to rebuild,
	// and every inclusion proof near the end of the log needs the same
	// few. A stored hash never changes once the tree has it.
	hashes map[int64]tlog.Hash
}

// maxMemoHashes bounds tileCache.hashes (about 12 MiB).
const maxMemoHashes = 1 << 18

func newTileCache(db *sql.DB, tree int64) *tileCache {
	return &tileCache{db: db, tree: tree, tiles: map[[2]int64][]byte{}, verified: map[[2]int64][]byte{}, hashes: map[int64]tlog.Hash{}}
}

// read returns tile (level, n) of width w; level -1 is an entry bundle.
func (c *tileCache) read(ctx context.Context, level, n int64, w int) ([]byte, error) {
	key := [2]int64{level, n}
	if level >= 0 {
		c.mu.Lock()
		data, ok := c.tiles[key]
		c.mu.Unlock()
		if ok && len(data) >= w*tlog.HashSize {
			return data[: w*tlog.HashSize : w*tlog.HashSize], nil
		}
	}
	if level == entriesLevel {
		return c.bundle(ctx, n, w)
	}
	width, data, err := readTileRow(ctx, c.db, c.tree, level, n)
	if err != nil {
		return nil, fmt.Errorf("%w: tile %d/%d: %w", errRead, level, n, err)
	}
	if width < w {
		// The checkpoint and its tiles are stored in one transaction, so
		// this is a database restored without its checkpoints.
		return nil, fmt.Errorf("%w: tile %d/%d: %d wide in the database, %d published", errMissingTile, level, n, width, w)
	}
	if len(data) != width*tlog.HashSize {
		return nil, fmt.Errorf("tile %d/%d: %d bytes for width %d", level, n, len(data), width)
	}
	c.mu.Lock()
	if len(c.tiles) >= maxCachedTiles {
		clear(c.tiles)
	}
	c.tiles[key] = data
	c.mu.Unlock()
	return data[: w*tlog.HashSize : w*tlog.HashSize], nil
}

// bundle returns the first w entries of entry bundle n. Only full bundles
// are stored (a partial one would be written again at every checkpoint,
// most of the database's writes): the entries of a partial one are read
// from the log's sequence, which keeps them until their bundle is full.
func (c *tileCache) bundle(ctx context.Context, n int64, w int) ([]byte, error) {
	for try := 0; ; try++ {
		width, data, err := readTileRow(ctx, c.db, c.tree, entriesLevel, n)
		if err != nil {
			return nil, fmt.Errorf("%w: entry bundle %d: %w", errRead, n, err)
		}
		if width >= w {
			return bundlePrefix(data, w)
		}
		b, complete, err := c.partialBundle(ctx, n, w)
		if err != nil {
			return nil, fmt.Errorf("%w: entry bundle %d: %w", errRead, n, err)
		}
		if complete {
			return b, nil
		}
		if try == 1 {
			// Neither the bundle nor its entries: a database restored
			// without its checkpoints.
			return nil, fmt.Errorf("%w: entry bundle %d: neither stored nor in the sequence, %d published", errMissingTile, n, w)
		}
		// The bundle may have filled, and its entries been cleared, since
		// it was read: read it again.
	}
}

// partialBundle builds the first w entries of bundle n from the log's
// sequence; complete is false if the sequence no longer (or not yet)
// holds them all.
func (c *tileCache) partialBundle(ctx context.Context, n int64, w int) (b []byte, complete bool, err error) {
	first := n << translog.TileHeight
	rows, err := c.db.QueryContext(ctx, `SELECT LeafIndex, Entry FROM SsmsQueue WHERE TreeId = ? AND LeafIndex >= ? AND LeafIndex < ? ORDER BY LeafIndex`,
		c.tree, first, first+int64(w))
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	i := first
	for rows.Next() {
		var index int64
		var e []byte
		if err := rows.Scan(&index, &e); err != nil {
			return nil, false, err
		}
		if index != i || len(e) == 0 || len(e) > translog.MaxEntrySize {
			return nil, false, rows.Err()
		}
		b = binary.BigEndian.AppendUint16(b, uint16(len(e)))
		b = append(b, e...)
		i++
	}
	return b, i == first+int64(w), rows.Err()
}

// bundlePrefix returns the first w entries of an entry bundle.
func bundlePrefix(b []byte, w int) ([]byte, error) {
	off := 0
	for range w {
		if len(b)-off < 2 {
			return nil, fmt.Errorf("stored entry bundle is truncated")
		}
		off += 2 + int(binary.BigEndian.Uint16(b[off:]))
		if off > len(b) {
			return nil, fmt.Errorf("stored entry bundle is truncated")
		}
	}
	return b[:off:off], nil
}

// Height is tlog-tiles' tile height.
func (c *tileCache) Height() int { return translog.TileHeight }

// ReadTiles reads hash tiles for TileHashReader.
func (c *tileCache) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		data, err := c.read(context.Background(), int64(t.L), t.N, t.W)
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

// SaveTiles is called with tiles TileHashReader verified.
func (c *tileCache) SaveTiles(tiles []tlog.Tile, data [][]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, t := range tiles {
		key := [2]int64{int64(t.L), t.N}
		if len(data[i]) > len(c.verified[key]) {
			if len(c.verified) >= maxCachedTiles {
				clear(c.verified)
			}
			c.verified[key] = data[i]
		}
	}
}

// verifiedReader reads the hashes of tree from verified tiles when it can,
// and through TileHashReader, which checks what it reads against the
// tree's root, when it cannot.
type verifiedReader struct {
	c     *tileCache
	tree  tlog.Tree
	check tlog.HashReader
}

func (c *tileCache) hashReader(tree tlog.Tree) tlog.HashReader {
	return verifiedReader{c: c, tree: tree, check: tlog.TileHashReader(tree, c)}
}

func (r verifiedReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	if out, ok := r.fromVerified(indexes); ok {
		return out, nil
	}
	return r.check.ReadHashes(indexes)
}

// fromVerified reads indexes from verified tiles, if they hold them all.
func (r verifiedReader) fromVerified(indexes []int64) ([]tlog.Hash, bool) {
	limit := tlog.StoredHashCount(r.tree.N)
	out := make([]tlog.Hash, len(indexes))
	tiles := make([]tlog.Tile, len(indexes))
	data := make([][]byte, len(indexes))
	r.c.mu.Lock()
	for i, idx := range indexes {
		if idx >= limit {
			r.c.mu.Unlock()
			return nil, false
		}
		if h, ok := r.c.hashes[idx]; ok {
			out[i] = h
			continue
		}
		tiles[i] = tlog.TileForIndex(translog.TileHeight, idx)
		data[i] = r.c.verified[[2]int64{int64(tiles[i].L), tiles[i].N}]
		if len(data[i]) < tiles[i].W*tlog.HashSize {
			r.c.mu.Unlock()
			return nil, false
		}
	}
	r.c.mu.Unlock()
	for i, idx := range indexes {
		if data[i] == nil {
			continue // memoised
		}
		h, err := tlog.HashFromTile(tiles[i], data[i], idx)
		if err != nil {
			return nil, false
		}
		out[i] = h
		if level, _ := tlog.SplitStoredHashIndex(idx); level%translog.TileHeight != 0 {
			r.c.mu.Lock()
			if len(r.c.hashes) >= maxMemoHashes {
				clear(r.c.hashes)
			}
			r.c.hashes[idx] = h
			r.c.mu.Unlock()
		}
	}
	return out, true
}

// checkBundle checks that the entries of bundle n hash to the leaf hashes
// of the signed tree r reads: the bytes in the database are the ones the
// log signed.
func checkBundle(b []byte, n int64, r tlog.HashReader) error {
	var entries [][]byte
	for off := 0; off < len(b); {
		if len(b)-off < 2 {
			return fmt.Errorf("stored entry bundle %d is truncated", n)
		}
		l := int(binary.BigEndian.Uint16(b[off:]))
		if len(b)-off-2 < l {
			return fmt.Errorf("stored entry bundle %d is truncated", n)
		}
		entries, off = append(entries, b[off+2:off+2+l]), off+2+l
	}
	indexes := make([]int64, len(entries))
	for i := range entries {
		indexes[i] = tlog.StoredHashIndex(0, n<<translog.TileHeight+int64(i))
	}
	hashes, err := r.ReadHashes(indexes)
	if err != nil {
		return fmt.Errorf("checking entry bundle %d: %w", n, err)
	}
	for i, e := range entries {
		if tlog.RecordHash(e) != hashes[i] {
			return fmt.Errorf("entry %d in the database is not the one the log signed (its bytes were changed)", n<<translog.TileHeight+int64(i))
		}
	}
	return nil
}
