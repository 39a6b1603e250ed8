package web

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// apiLimiter is a token bucket per API key, in memory: each process of
// avis counts for itself (with several web processes behind a load
// balancer, a key may make that many requests to each). A bucket holds
// burst tokens and refills at rate tokens a second; a request takes one.
type apiLimiter struct {
	rate  float64
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// maxBuckets bounds the map: past it, full buckets (keys idle long enough
// to have refilled) are dropped.
const maxBuckets = 10000

func newAPILimiter(rate, burst int) *apiLimiter {
	if burst < 1 {
		burst = 1
	}
	return &apiLimiter{rate: float64(rate), burst: float64(burst), now: time.Now, buckets: map[string]*bucket{}}
}

// limitState is what the headers say after a request was counted.
type limitState struct {
	ok        bool
	remaining int
	// reset is the time until the bucket is full again; retry, when !ok,
	// the time until one request is allowed.
	reset, retry time.Duration
}

// take counts one request of the key.
func (l *apiLimiter) take(key string) limitState {
	if l == nil || l.rate <= 0 {
		return limitState{ok: true, remaining: -1}
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			l.prune(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	st := limitState{ok: b.tokens >= 1}
	if st.ok {
		b.tokens--
	} else {
		st.retry = time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	}
	st.remaining = int(b.tokens)
	st.reset = time.Duration((l.burst - b.tokens) / l.rate * float64(time.Second))
	return st
}

func (l *apiLimiter) prune(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
}

// ceilSeconds rounds a duration up to whole seconds.
func ceilSeconds(d time.Duration) int {
	return int(math.Ceil(d.Seconds()))
}

// setHeaders writes the RateLimit-Policy and RateLimit fields of the IETF
// draft (draft-ietf-httpapi-ratelimit-headers): one policy, "key", of
// burst requests (q) over the seconds the bucket takes to refill (w); r
// the requests left now, t the seconds until the bucket is full again.
func (l *apiLimiter) setHeaders(h http.Header, st limitState) {
	if l == nil || l.rate <= 0 {
		return
	}
	window := max(1, ceilSeconds(time.Duration(l.burst/l.rate*float64(time.Second))))
	h.Set("RateLimit-Policy", `"key";q=`+strconv.Itoa(int(l.burst))+`;w=`+strconv.Itoa(window))
	h.Set("RateLimit", `"key";r=`+strconv.Itoa(max(0, st.remaining))+`;t=`+strconv.Itoa(ceilSeconds(st.reset)))
	if !st.ok {
		h.Set("Retry-After", strconv.Itoa(max(1, ceilSeconds(st.retry))))
	}
}

var errRateLimited = &PublicError{http.StatusTooManyRequests, "rate_limited",
	"This API key sent more requests than its rate allows. Wait the seconds given in Retry-After, then go on more slowly (RateLimit says how many requests are left)."}
