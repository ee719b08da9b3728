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
}

func newTileCache(db *sql.DB, tree int64) *tileCache {
	return &tileCache{db: db, tree: tree, tiles: map[[2]int64][]byte{}}
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
	width, data, err := readTileRow(ctx, c.db, c.tree, level, n)
	if err != nil {
		return nil, fmt.Errorf("%w: tile %d/%d: %w", errRead, level, n, err)
	}
	if width < w {
		// The checkpoint and its tiles are stored in one transaction, so
		// this is a database restored without its checkpoints.
		return nil, fmt.Errorf("%w: tile %d/%d: %d wide in the database, %d published", errMissingTile, level, n, width, w)
	}
	if level == entriesLevel {
		return bundlePrefix(data, w)
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

// SaveTiles is called with tiles TileHashReader verified; they are cached
// already.
func (c *tileCache) SaveTiles([]tlog.Tile, [][]byte) {}
