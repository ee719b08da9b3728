package translog

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// DefaultKeyLimit is how many entries one key may add per hour by default:
// far more than real releases and attestations need, and a small bound on
// what a stolen key can add.
const DefaultKeyLimit = 60

// RateLimitError refuses an addition because every key it may be charged
// to (see [Claim]) has used its allowance; the log answers 429 with Retry-After.
type RateLimitError struct {
	Keys       []string
	Limit      int
	Window     time.Duration
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	ids := make([]string, len(e.Keys))
	for i, k := range e.Keys {
		ids[i] = k[:min(len(k), 16)]
	}
	return fmt.Sprintf("every key that signed this entry and has no logged signature on its subject (%s) added %d entries in the last %v; retry in %v",
		strings.Join(ids, ", "), e.Limit, e.Window, e.RetryAfter)
}

// KeyCharger counts additions per key for the per-key limit
// ([Server.KeyLimit]): it charges one addition to the key in keys with the
// most room left in the window, and returns a *RateLimitError if none has
// room. A Backend whose front ends share storage implements it, so that
// the limit holds across all of them; for any other, the Server counts in
// memory.
type KeyCharger interface {
	ChargeKey(ctx context.Context, keys []string, limit int, window time.Duration, now time.Time) error
}

// keyLimits counts additions per key over a sliding window. It is kept in
// memory only: a restart gives every key a fresh allowance. Restarts are
// the operator's, so this bounds what a key can add to limit×keys per
// window and per restart, and keeps /add free of a write per addition.
type keyLimits struct {
	mu     sync.Mutex
	recent map[string][]time.Time // per key, its additions within the window, oldest first
}

// charge records one addition against the key in keys with the most room
// left, so that one stolen key that used its allowance cannot block an entry
// co-signed by others; it refuses only if no key has room. Every entry costs
// one key one unit, so a window holds at most limit entries per key. Keys
// are verified policy keys, so the map is as small as the policies.
func (l *keyLimits) charge(keys []string, limit int, window time.Duration, now time.Time) error {
	if limit <= 0 || len(keys) == 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.recent == nil {
		l.recent = map[string][]time.Time{}
	}
	best, room := "", 0
	var soonest time.Duration
	for _, k := range keys {
		times := l.recent[k]
		for len(times) > 0 && !times[0].After(now.Add(-window)) {
			times = times[1:]
		}
		l.recent[k] = times
		if r := limit - len(times); r > room {
			best, room = k, r
		}
		if len(times) > 0 {
			if wait := times[0].Add(window).Sub(now); soonest == 0 || wait < soonest {
				soonest = wait
			}
		}
	}
	if room == 0 {
		return &RateLimitError{Keys: keys, Limit: limit, Window: window, RetryAfter: soonest}
	}
	l.recent[best] = append(l.recent[best], now)
	return nil
}
