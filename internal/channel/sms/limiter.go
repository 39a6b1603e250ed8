package sms

import (
	"context"
	"math"
	"sync"
	"time"
)

// Clock is the time source of a Limiter, so that tests can drive it.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives once d has passed.
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Limiter is a token bucket that paces the messages a caller sends through
// one provider: rate tokens a second, at most burst at once. A nil *Limiter
// never waits. It is safe for concurrent use.
type Limiter struct {
	clock Clock
	rate  float64
	burst float64

	mu     sync.Mutex
	tokens float64
	last   time.Time
	hold   time.Time // no token before this instant (after a 429)
}

// NewLimiter returns a full bucket of burst tokens refilled at rate tokens
// a second. A nil clock is the real clock. rate must be positive and burst
// at least 1.
func NewLimiter(rate float64, burst int, clock Clock) *Limiter {
	if clock == nil {
		clock = realClock{}
	}
	if burst < 1 {
		burst = 1
	}
	if rate <= 0 || math.IsNaN(rate) {
		rate = math.SmallestNonzeroFloat64
	}
	return &Limiter{clock: clock, rate: rate, burst: float64(burst), tokens: float64(burst), last: clock.Now()}
}

// refill adds the tokens earned since the last call. l.mu is held.
func (l *Limiter) refill(now time.Time) {
	if el := now.Sub(l.last); el > 0 {
		l.tokens = math.Min(l.burst, l.tokens+el.Seconds()*l.rate)
		l.last = now
	}
}

// take takes a token if one is there and returns 0, or returns how long
// until one may be. l.mu is held.
func (l *Limiter) take() time.Duration {
	now := l.clock.Now()
	if now.Before(l.hold) {
		return l.hold.Sub(now)
	}
	l.refill(now)
	if l.tokens >= 1 {
		l.tokens--
		return 0
	}
	d := time.Duration(math.Ceil((1 - l.tokens) / l.rate * float64(time.Second)))
	return max(d, time.Nanosecond)
}

// Allow takes a token and reports true if one is available now, and
// otherwise reports false without waiting.
func (l *Limiter) Allow() bool {
	if l == nil {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.take() == 0
}

// Delay reports how long a caller would wait for a token now, without
// taking one.
func (l *Limiter) Delay() time.Duration {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	if now.Before(l.hold) {
		return l.hold.Sub(now)
	}
	l.refill(now)
	if l.tokens >= 1 {
		return 0
	}
	return time.Duration(math.Ceil((1 - l.tokens) / l.rate * float64(time.Second)))
}

// Wait blocks until it takes a token or ctx is done, and then returns
// ctx's error.
func (l *Limiter) Wait(ctx context.Context) error {
	if l == nil {
		return ctx.Err()
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		l.mu.Lock()
		d := l.take()
		l.mu.Unlock()
		if d == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-l.clock.After(d):
		}
	}
}

// Hold gives no token for d from now and empties the bucket: call it with
// SendError.RetryAfter when the provider answered 429.
func (l *Limiter) Hold(d time.Duration) {
	if l == nil || d <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	if until := now.Add(d); until.After(l.hold) {
		l.hold = until
	}
	l.tokens = 0
	l.last = l.hold
}
