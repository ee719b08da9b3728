package translog

import (
	"errors"

	"golang.org/x/mod/sumdb/tlog"
)

// Limits on what a log serves. A reader must accept the largest response
// the log can legitimately serve on each endpoint, or an entry that the log
// admitted can make every later read fail (an attacker fills a bundle with
// big entries and blinds the monitors), and nothing larger, or a hostile
// log exhausts the reader's memory. The client applies one limit per
// endpoint; anything over it is an error, never a silent truncation.
const (
	// MaxEntryBundleSize bounds GET /tile/entries/N: 256 entries of
	// MaxEntrySize bytes, each with its 2-byte length (16,777,472 bytes).
	MaxEntryBundleSize = (1 << TileHeight) * (2 + MaxEntrySize)
	// MaxTileSize bounds GET /tile/L/N: 256 hashes (8,192 bytes).
	MaxTileSize = (1 << TileHeight) * tlog.HashSize
	// MaxHashLinesSize bounds GET /proof/inclusion and /proof/consistency:
	// up to 64 base64 hashes of 44 characters, each on its own line.
	MaxHashLinesSize = maxProofHashes * (44 + 1)
	// MaxCheckpointSize (GET /checkpoint) and MaxProofSize (the answer to
	// POST /add) are defined with their formats.

	// maxErrorSize bounds the message of a non-200 answer.
	maxErrorSize = 4 << 10
)

// ErrResponseTooLarge means a log answered with more than the endpoint's
// limit: no honest log does.
var ErrResponseTooLarge = errors.New("log's response exceeds the endpoint's limit")
