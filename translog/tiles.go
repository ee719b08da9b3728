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
// only that canonical form (C2SP tlog-tiles: x-prefixed groups of three
// digits, no leading x000 group; W from 1 to 255 without leading zeros).
// W is 256 for a full tile. An index too large for an int64 is well formed
// but lies past every tree: it is ErrNotFound, and is never computed with.
func parseTileIndex(path string) (n int64, w int, err error) {
	w = 1 << TileHeight
	if base, width, ok := strings.Cut(path, ".p/"); ok {
		v, err := strconv.Atoi(width)
		if err != nil || v < 1 || v >= 1<<TileHeight || strconv.Itoa(v) != width {
			return 0, 0, fmt.Errorf("%w: partial width %q", errBadPath, width)
		}
		path, w = base, v
	}
	// A canonical index of 8 groups or more (2^63 has 19 digits) is too
	// large for any tree: it is checked for form like any other and then
	// found past the tree (ParseInt overflows), so every index past the
	// tree is 404, as the package doc says. The path is bounded by the
	// server's header limit.
	parts := strings.Split(path, "/")
	if len(parts) > 1 && parts[0] == "x000" {
		return 0, 0, fmt.Errorf("%w: %q is not canonical", errBadPath, path)
	}
	var digits strings.Builder
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
		digits.WriteString(p)
	}
	// ParseInt checks for overflow; the digits are known to be decimal.
	n, err = strconv.ParseInt(digits.String(), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: tile index %s", ErrNotFound, path)
	}
	return n, w, nil
}
