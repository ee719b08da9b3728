package explorer

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// DefaultReportRate is how many reports one source address may send per
// hour: an updater sends one per refused update, so a few per hour is
// already an incident; more is a flood.
const DefaultReportRate = 20

// maxSources bounds the addresses the limiter remembers at once.
const maxSources = 10_000

// rateLimiter is a token bucket per source address (burst = rate), kept
// in memory only and never logged.
type rateLimiter struct {
	rate    float64 // tokens per second
	burst   float64
	now     func() time.Time
	mu      sync.Mutex
	sources map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(n int, per time.Duration, now func() time.Time) *rateLimiter {
	return &rateLimiter{rate: float64(n) / per.Seconds(), burst: float64(n), now: now, sources: map[string]*bucket{}}
}

// allow takes a token for r's source address, and says how long to wait
// when there is none.
func (l *rateLimiter) allow(r *http.Request) (bool, time.Duration) {
	source := sourceOf(r)
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.sources[source]
	if b == nil {
		if len(l.sources) >= maxSources {
			l.forgetFull(now)
		}
		if len(l.sources) >= maxSources {
			return false, time.Minute // an address flood: nobody new until buckets refill
		}
		b = &bucket{tokens: l.burst, last: now}
		l.sources[source] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	}
	b.tokens--
	return true, 0
}

// forgetFull drops the buckets that have refilled: they hold nothing a
// new bucket would not.
func (l *rateLimiter) forgetFull(now time.Time) {
	for k, b := range l.sources {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.sources, k)
		}
	}
}

// sourceOf is the address a request is counted against: the IPv4
// address, or the /64 of an IPv6 one (one machine is handed a whole /64,
// and could otherwise post from each of its addresses).
func sourceOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.To4() != nil {
		return host
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}
