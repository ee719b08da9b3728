package translog

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrTooLarge means an entry exceeds MaxEntrySize.
var ErrTooLarge = fmt.Errorf("entry larger than %d bytes", MaxEntrySize)

// errBadPath reports a tile path that is not canonical tlog-tiles.
var errBadPath = errors.New("not a tlog-tiles path")

// TileIndexPath encodes a tile index as tlog-tiles path elements: groups of
// three digits, all but the last prefixed with x (1234067 → x001/x234/067).
func TileIndexPath(n int64) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n >= 1000 {
		n /= 1000
		s = fmt.Sprintf("x%03d/%s", n%1000, s)
	}
	return s
}

// TilePath is the path of a tile below the log's prefix: tile/L/N[.p/W],
// or tile/entries/N[.p/W] for an entry bundle (level -1).
func TilePath(level, n int64, w int) string {
	l := strconv.FormatInt(level, 10)
	if level < 0 {
		l = "entries"
	}
	p := "tile/" + l + "/" + TileIndexPath(n)
	if w < 1<<TileHeight {
		p += ".p/" + strconv.Itoa(w)
	}
	return p
}

// parseTileIndex decodes N[.p/W] as written by TileIndexPath, accepting
// only that canonical form. W is 256 for a full tile.
func parseTileIndex(path string) (n int64, w int, err error) {
	w = 1 << TileHeight
	if base, width, ok := strings.Cut(path, ".p/"); ok {
		v, err := strconv.Atoi(width)
		if err != nil || v < 1 || v >= 1<<TileHeight || strconv.Itoa(v) != width {
			return 0, 0, fmt.Errorf("%w: partial width %q", errBadPath, width)
		}
		path, w = base, v
	}
	parts := strings.Split(path, "/")
	if len(parts) > 7 {
		return 0, 0, fmt.Errorf("%w: tile index too long", errBadPath)
	}
	for i, p := range parts {
		if i < len(parts)-1 {
			if !strings.HasPrefix(p, "x") {
				return 0, 0, fmt.Errorf("%w: %q", errBadPath, path)
			}
			p = p[1:]
		}
		if len(p) != 3 || strings.Trim(p, "0123456789") != "" {
			return 0, 0, fmt.Errorf("%w: %q", errBadPath, path)
		}
		d, _ := strconv.Atoi(p)
		n = n*1000 + int64(d)
	}
	if TileIndexPath(n) != path {
		return 0, 0, fmt.Errorf("%w: %q is not canonical", errBadPath, path)
	}
	return n, w, nil
}
