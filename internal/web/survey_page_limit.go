package web

import (
	"net/netip"
	"sync"
	"time"
)

// ipLimiter counts events per client address in a sliding window, in
// memory only: addresses are never stored, and a restart forgets them.
// IPv6 addresses count by /64, the block one subscriber usually holds.
type ipLimiter struct {
	max    int
	window time.Duration

	mu   sync.Mutex
	hits map[string][]time.Time
}

// maxTracked bounds the addresses remembered; past it, those without a
// recent event are dropped.
const maxTracked = 100_000

func newIPLimiter(max int, window time.Duration) *ipLimiter {
	return &ipLimiter{max: max, window: window, hits: map[string][]time.Time{}}
}

func limiterKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	if a.Is4() || a.Is4In6() {
		return a.Unmap().String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// allow records an event from ip at now and reports whether it is within
// the limit; when not, it says how long until the next one is.
func (l *ipLimiter) allow(ip string, now time.Time) (bool, time.Duration) {
	key := limiterKey(ip)
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.hits) >= maxTracked {
		for k, ts := range l.hits {
			if len(ts) == 0 || now.Sub(ts[len(ts)-1]) >= l.window {
				delete(l.hits, k)
			}
		}
	}
	ts := l.hits[key]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= l.window {
		i++
	}
	ts = ts[i:]
	if len(ts) >= l.max {
		l.hits[key] = ts
		return false, l.window - now.Sub(ts[0])
	}
	l.hits[key] = append(ts, now)
	return true, 0
}
