package account

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestThrottlePerAccount(t *testing.T) {
	e := newEnv(t)
	acme := e.tenant(t, "acme")
	e.user(t, acme.ID, "camille@example.org", RoleOwner)
	e.user(t, acme.ID, "dominique@example.org", RoleViewer)

	// Five failures from five addresses lock the account.
	for i := range 5 {
		ip := fmt.Sprintf("192.0.2.%d", i+1)
		if _, err := e.s.Authenticate(ctx, "camille@example.org", "wrong password!", ip); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("failure %d: err = %v, want ErrBadCredentials", i+1, err)
		}
		e.clock.Add(time.Minute)
	}
	_, err := e.s.Authenticate(ctx, "camille@example.org", goodPassword, "203.0.113.9")
	var te *ThrottleError
	if !errors.Is(err, ErrThrottled) || !errors.As(err, &te) {
		t.Fatalf("right password while locked: err = %v, want ErrThrottled", err)
	}
	if te.RetryAfter <= 0 || te.RetryAfter > 15*time.Minute {
		t.Errorf("RetryAfter = %v, want in (0, 15m]", te.RetryAfter)
	}
	// Another account from the same addresses is not locked.
	if _, err := e.s.Authenticate(ctx, "dominique@example.org", goodPassword, "192.0.2.1"); err != nil {
		t.Errorf("other account: %v", err)
	}
	// Still locked just before the lockout ends, open after.
	e.clock.Add(te.RetryAfter - time.Second)
	if _, err := e.s.Authenticate(ctx, "camille@example.org", goodPassword, "203.0.113.9"); !errors.Is(err, ErrThrottled) {
		t.Fatalf("a second before the end: err = %v, want ErrThrottled", err)
	}
	e.clock.Add(2 * time.Second)
	if _, err := e.s.Authenticate(ctx, "camille@example.org", goodPassword, "203.0.113.9"); err != nil {
		t.Fatalf("after the lockout: %v", err)
	}
	if n := e.count(t, "", "login.throttled"); n != 2 {
		t.Errorf("%d login.throttled entries, want 2", n)
	}
	// A success clears the count: four more failures do not lock.
	for range 4 {
		_, _ = e.s.Authenticate(ctx, "camille@example.org", "wrong password!", "203.0.113.9")
	}
	if _, err := e.s.Authenticate(ctx, "camille@example.org", goodPassword, "203.0.113.9"); err != nil {
		t.Fatalf("four failures after a success locked the account: %v", err)
	}
}

func TestThrottleWindow(t *testing.T) {
	e := newEnv(t)
	acme := e.tenant(t, "acme")
	e.user(t, acme.ID, "camille@example.org", RoleOwner)
	// Failures spread wider than the window never lock.
	for range 12 {
		_, _ = e.s.Authenticate(ctx, "camille@example.org", "wrong password!", "")
		e.clock.Add(4 * time.Minute)
	}
	if _, err := e.s.Authenticate(ctx, "camille@example.org", goodPassword, ""); err != nil {
		t.Fatalf("failures spread over time locked the account: %v", err)
	}
}

func TestThrottleUnknownAccount(t *testing.T) {
	e := newEnv(t)
	for range 5 {
		_, _ = e.s.Authenticate(ctx, "ghost@example.org", "wrong password!", "")
	}
	// Locked like a real one, so a lock tells nothing about existence.
	if _, err := e.s.Authenticate(ctx, "ghost@example.org", "wrong password!", ""); !errors.Is(err, ErrThrottled) {
		t.Fatalf("err = %v, want ErrThrottled", err)
	}
}

func TestThrottlePerIP(t *testing.T) {
	e := newEnv(t)
	acme := e.tenant(t, "acme")
	e.user(t, acme.ID, "camille@example.org", RoleOwner)
	// Twenty failures on twenty accounts from one /64 lock the address.
	for i := range 20 {
		ip := fmt.Sprintf("2001:db8:1:2::%x", i+1)
		if _, err := e.s.Authenticate(ctx, fmt.Sprintf("guess%d@example.org", i), "wrong password!", ip); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("failure %d: err = %v", i+1, err)
		}
	}
	if _, err := e.s.Authenticate(ctx, "camille@example.org", goodPassword, "2001:db8:1:2::ffff"); !errors.Is(err, ErrThrottled) {
		t.Fatalf("right password from the locked /64: err = %v, want ErrThrottled", err)
	}
	if _, err := e.s.Authenticate(ctx, "camille@example.org", goodPassword, "2001:db8:1:3::1"); err != nil {
		t.Fatalf("from another /64: %v", err)
	}
	e.clock.Add(15*time.Minute + time.Second)
	if _, err := e.s.Authenticate(ctx, "camille@example.org", goodPassword, "2001:db8:1:2::ffff"); err != nil {
		t.Fatalf("after the lockout: %v", err)
	}
}

func TestClientPrefix(t *testing.T) {
	tests := []struct{ in, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"192.0.2.1:4431", "192.0.2.1"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2::9]:443", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"", ""},
		{" Unknown ", "unknown"},
	}
	for _, tt := range tests {
		if got := clientPrefix(tt.in); got != tt.want {
			t.Errorf("clientPrefix(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
