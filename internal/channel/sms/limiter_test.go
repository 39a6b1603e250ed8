package sms

import (
	"context"
	"sync"
	"testing"
	"time"
)

// fakeClock is a Clock that moves only when told to.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
	waiting chan struct{} // receives each time After is called
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), waiting: make(chan struct{}, 100)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, fakeWaiter{c.now.Add(d), ch})
	c.waiting <- struct{}{}
	return ch
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

func TestLimiterAllow(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	l := NewLimiter(10, 3, clk) // 10 a second, burst 3
	for i := range 3 {
		if !l.Allow() {
			t.Fatalf("burst token %d refused", i)
		}
	}
	if l.Allow() {
		t.Fatal("a fourth message at once was allowed")
	}
	if d := l.Delay(); d != 100*time.Millisecond {
		t.Fatalf("Delay = %v, want 100ms", d)
	}
	clk.Advance(99 * time.Millisecond)
	if l.Allow() {
		t.Fatal("allowed after 99ms")
	}
	clk.Advance(time.Millisecond)
	if !l.Allow() {
		t.Fatal("refused after 100ms")
	}
	// A long quiet spell refills to the burst, not beyond.
	clk.Advance(time.Hour)
	n := 0
	for l.Allow() {
		n++
	}
	if n != 3 {
		t.Fatalf("%d tokens after an hour, want the burst of 3", n)
	}
	// 100 seconds at 10/s: 1000 messages, and no more.
	sent := 0
	for range 100_000 {
		clk.Advance(time.Millisecond)
		if l.Allow() {
			sent++
		}
	}
	if sent != 1000 {
		t.Fatalf("%d messages in 100 s at 10/s", sent)
	}
}

func TestLimiterWait(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	l := NewLimiter(2, 1, clk) // one every 500ms
	ctx := context.Background()
	if err := l.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- l.Wait(ctx) }()
	<-clk.waiting // Wait is now blocked on the clock
	select {
	case <-done:
		t.Fatal("Wait returned before the clock moved")
	default:
	}
	clk.Advance(500 * time.Millisecond)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// Cancelling the context ends a wait.
	cctx, cancel := context.WithCancel(ctx)
	go func() { done <- l.Wait(cctx) }()
	<-clk.waiting
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("Wait after cancel = %v", err)
	}
}

func TestLimiterHold(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	l := NewLimiter(100, 10, clk)
	l.Hold(30 * time.Second) // the provider said 429, Retry-After: 30
	if l.Allow() {
		t.Fatal("allowed during a hold")
	}
	if d := l.Delay(); d != 30*time.Second {
		t.Fatalf("Delay = %v during a hold", d)
	}
	clk.Advance(29 * time.Second)
	if l.Allow() {
		t.Fatal("allowed before the hold ended")
	}
	clk.Advance(time.Second)
	if l.Allow() {
		t.Fatal("the hold emptied the bucket, yet a token was there at once")
	}
	clk.Advance(10 * time.Millisecond)
	if !l.Allow() {
		t.Fatal("refused 10ms after the hold at 100/s")
	}
}

func TestNilLimiter(t *testing.T) {
	t.Parallel()
	var l *Limiter
	if !l.Allow() || l.Delay() != 0 || l.Wait(context.Background()) != nil {
		t.Fatal("a nil limiter limits")
	}
	l.Hold(time.Second)
	if (Common{}).NewLimiter(nil) != nil {
		t.Fatal("rate 0 gives a limiter")
	}
}
