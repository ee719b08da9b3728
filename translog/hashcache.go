package translog

import (
	"sync"

	"golang.org/x/mod/sumdb/tlog"
)

// hashCache holds recently written or read stored hashes. A stored hash
// never changes once written, so a cached value is never stale; the cache
// only saves the pread per hash that proofs would otherwise cost. It is
// direct-mapped: 2^16 slots, about 2.5 MiB.
type hashCache struct {
	mu    sync.Mutex
	slots [1 << 16]struct {
		index int64 // stored hash index + 1; 0 means empty
		hash  tlog.Hash
	}
}

func (c *hashCache) get(index int64) (tlog.Hash, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &c.slots[index&int64(len(c.slots)-1)]
	return s.hash, s.index == index+1
}

func (c *hashCache) put(index int64, h tlog.Hash) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &c.slots[index&int64(len(c.slots)-1)]
	s.index, s.hash = index+1, h
}
