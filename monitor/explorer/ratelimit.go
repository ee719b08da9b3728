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

// JunkFactor sets the second, larger allowance each source has for posts
// that keep nothing (invalid, too large, already received, store full):
// they do not use up the reports quota, which a NAT's users share, but a
// flood of them still costs parsing, so it is bounded too.
const JunkFactor = 10

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
func (l *rateLimiter) allow(r *http.Request) (bool, time.Duration) { return l.use(r, true) }

// ready says whether r's source has a token, without taking it: for a
// request charged only once its outcome is known (charge).
func (l *rateLimiter) ready(r *http.Request) (bool, time.Duration) { return l.use(r, false) }

// charge takes a token from r's source, after ready said it had one (a
// few requests in flight at once may take it below zero: they wait more).
func (l *rateLimiter) charge(r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.sources[sourceOf(r)]; b != nil {
		b.tokens--
	}
}

func (l *rateLimiter) use(r *http.Request, take bool) (bool, time.Duration) {
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
	if take {
		b.tokens--
	}
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
