package email

import (
	"strings"
	"sync"
	"time"
)

// Bounds of the pause after a relay asks avis to slow down.
const (
	throttleFirst = time.Second
	throttleMax   = 5 * time.Minute
)

// throttle pauses new messages to a relay that asked to slow down (see
// asksToSlowDown), so
// that one busy relay slows its own tenant's sending instead of failing
// every message. Each further refusal doubles the pause, up to 5 minutes; a
// message the relay takes ends it.
type throttle struct {
	mu    sync.Mutex
	until time.Time
	step  time.Duration
}

// paused tells how long new messages must still wait (0: send now).
func (t *throttle) paused(now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Before(t.until) {
		return t.until.Sub(now)
	}
	return 0
}

// slowDown starts or lengthens the pause and returns it.
func (t *throttle) slowDown(now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.step = min(max(2*t.step, throttleFirst), throttleMax)
	t.until = now.Add(t.step)
	return t.step
}

// ok ends the pause after a message went through.
func (t *throttle) ok() {
	t.mu.Lock()
	t.step, t.until = 0, time.Time{}
	t.mu.Unlock()
}

// asksToSlowDown reports whether a refusal is about the pace of sending
// rather than about one message: 421 (service not available, closing the
// connection), 454 (Amazon SES's "Throttling failure: Maximum sending rate
// exceeded"), or a temporary 4.7.x policy status given to MAIL FROM or to
// the message ("too many messages, slow down"). A 4xx to one recipient
// (greylisting, a full mailbox) is about that recipient only.
func asksToSlowDown(se *SendError) bool {
	switch {
	case se.Code == 421, se.Code == 454:
		return true
	case se.Code >= 400 && se.Code < 500 && strings.HasPrefix(se.EnhancedCode, "4.7."):
		return se.Stage == StageMail || se.Stage == StageData
	}
	return false
}
