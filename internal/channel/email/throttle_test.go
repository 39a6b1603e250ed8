package email

import (
	"context"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// TestRelayAsksToSlowDown: a relay that answers "451 4.7.0 too many
// messages" pauses the sender — the next message is put back at once
// without reaching the relay — while a 4xx to one recipient does not.
func TestRelayAsksToSlowDown(t *testing.T) {
	t.Parallel()
	raw := buildSample(t)
	tests := []struct {
		name  string
		rcpt  error
		data  error
		pause bool
	}{
		{name: "451 4.7.0 on data", data: &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Too many messages, slow down"}, pause: true},
		{name: "454 throttling", data: &smtp.SMTPError{Code: 454, EnhancedCode: smtp.NoEnhancedCode, Message: "Throttling failure: Maximum sending rate exceeded."}, pause: true},
		{name: "451 4.7.1 greylisting one recipient", rcpt: &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "Greylisted"}},
		{name: "452 4.2.2 mailbox full", rcpt: &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "over quota"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			be, stopRefusing := refusingBackend(tt.rcpt, tt.data)
			ts := startServer(t, be, TLSNone)
			s := ts.newSender(t, ts.relayURL(TLSNone, "", "pool=1"), Options{})
			se := sendError(t, s.Send(context.Background(), testEnv, raw))
			if !se.Temporary || se.RateLimited != tt.pause {
				t.Fatalf("first refusal: %+v", se)
			}
			if tt.pause && (se.RetryAfter < throttleFirst || se.RetryAfter > throttleMax) {
				t.Fatalf("pause %v", se.RetryAfter)
			}
			stopRefusing()
			err := s.Send(context.Background(), testEnv, raw)
			if !tt.pause {
				if err != nil {
					t.Fatalf("after a refusal about one recipient: %v", err)
				}
				checkDelivered(t, be, 1)
				return
			}
			se = sendError(t, err)
			if !se.RateLimited || se.Stage != StageRate || se.RetryAfter <= 0 {
				t.Fatalf("during the pause: %+v", se)
			}
			if _, _, msgs := be.counts(); msgs != 0 {
				t.Fatalf("the relay got %d messages during the pause", msgs)
			}
		})
	}
}

// TestThrottleBackoff: each refusal doubles the pause up to the maximum; a
// message that goes through ends it.
func TestThrottleBackoff(t *testing.T) {
	var th throttle
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}
	for i, w := range want {
		if got := th.slowDown(now); got != w {
			t.Fatalf("refusal %d: pause %v, want %v", i+1, got, w)
		}
	}
	if d := th.paused(now.Add(time.Second)); d != 3*time.Second {
		t.Fatalf("paused = %v, want 3s left", d)
	}
	for range 20 {
		th.slowDown(now)
	}
	if d := th.paused(now); d != throttleMax {
		t.Fatalf("pause grew to %v, want at most %v", d, throttleMax)
	}
	th.ok()
	if d := th.paused(now); d != 0 {
		t.Fatalf("after a delivery the pause is %v", d)
	}
	if got := th.slowDown(now); got != time.Second {
		t.Fatalf("after a delivery the next pause is %v, want 1s again", got)
	}
}
