package account

import (
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"avis/internal/db"
)

func TestSessions(t *testing.T) {
	e := newEnv(t)
	acme := e.tenant(t, "acme")
	beta := e.tenant(t, "beta")
	u := e.user(t, acme.ID, "camille@example.org", RoleOwner)

	token, sess, err := e.s.CreateSession(ctx, u.ID, acme.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := base64.RawURLEncoding.DecodeString(token); err != nil || len(b) != 32 {
		t.Errorf("token %q is not 32 random bytes in base64url", token)
	}
	if sess.UserID != u.ID || sess.TenantID != acme.ID || sess.MFAOK || len(sess.CSRFToken) < 40 ||
		!sess.ExpiresAt.Equal(e.clock.Now().Add(12*time.Hour)) {
		t.Errorf("new session %+v", sess)
	}
	if tableContains(t, e.d, "sessions", []byte(token)) {
		t.Error("the session token is stored in clear")
	}
	got, err := e.s.Session(ctx, token)
	if err != nil || got != sess {
		t.Fatalf("Session = %+v, %v; want %+v", got, err, sess)
	}
	token2, sess2, _ := e.s.CreateSession(ctx, u.ID, "", true)
	if token2 == token || sess2.CSRFToken == sess.CSRFToken {
		t.Error("two sessions share a token")
	}

	if err := e.s.MarkMFA(ctx, token); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.s.Session(ctx, token); !got.MFAOK {
		t.Error("MarkMFA not stored")
	}
	// Switching to a tenant the person is not in is refused.
	if err := e.s.SetSessionTenant(ctx, token, beta.ID); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("switch to a foreign tenant: err = %v, want db.ErrNotFound", err)
	}
	if err := e.s.SetSessionTenant(ctx, token2, acme.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.s.Session(ctx, token2); got.TenantID != acme.ID {
		t.Errorf("tenant after switch = %q", got.TenantID)
	}
	if _, _, err := e.s.CreateSession(ctx, u.ID, beta.ID, false); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("session in a foreign tenant: err = %v, want db.ErrNotFound", err)
	}

	for _, bad := range []string{"", "nope", token + "x"} {
		if _, err := e.s.Session(ctx, bad); !errors.Is(err, ErrSessionExpired) {
			t.Errorf("Session(%q): err = %v, want ErrSessionExpired", bad, err)
		}
	}

	// Expiry.
	e.clock.Add(12*time.Hour - time.Second)
	if _, err := e.s.Session(ctx, token); err != nil {
		t.Fatalf("a second before expiry: %v", err)
	}
	e.clock.Add(time.Second)
	if _, err := e.s.Session(ctx, token); !errors.Is(err, ErrSessionExpired) {
		t.Fatalf("at expiry: err = %v, want ErrSessionExpired", err)
	}
	if err := e.s.MarkMFA(ctx, token); !errors.Is(err, ErrSessionExpired) {
		t.Errorf("MarkMFA on an expired session: err = %v", err)
	}

	// Deletion.
	e.clock.Add(-time.Hour)
	token3, _, _ := e.s.CreateSession(ctx, u.ID, acme.ID, false)
	if err := e.s.DeleteSession(ctx, token3); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Session(ctx, token3); !errors.Is(err, ErrSessionExpired) {
		t.Errorf("after DeleteSession: err = %v", err)
	}
	if _, err := e.s.Session(ctx, token2); err != nil {
		t.Fatalf("other session: %v", err)
	}
	if err := e.s.DeleteUserSessions(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Session(ctx, token2); !errors.Is(err, ErrSessionExpired) {
		t.Errorf("after DeleteUserSessions: err = %v", err)
	}
}

func TestSessionLastSeen(t *testing.T) {
	e := newEnv(t)
	acme := e.tenant(t, "acme")
	u := e.user(t, acme.ID, "camille@example.org", RoleOwner)
	token, _, _ := e.s.CreateSession(ctx, u.ID, acme.ID, false)
	seen := func() int64 {
		var v int64
		if err := e.d.R.QueryRowContext(ctx, `SELECT last_seen_at FROM sessions WHERE id_hash = $1`, tokenHash(token)).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	start := seen()
	e.clock.Add(30 * time.Second)
	_, _ = e.s.Session(ctx, token)
	if seen() != start {
		t.Error("last_seen_at written within a minute")
	}
	e.clock.Add(31 * time.Second)
	_, _ = e.s.Session(ctx, token)
	if got := seen(); got != db.Stamp(e.clock.Now()) {
		t.Errorf("last_seen_at = %d, want %d", got, db.Stamp(e.clock.Now()))
	}
}

func TestPrune(t *testing.T) {
	e := newEnv(t)
	acme := e.tenant(t, "acme")
	u := e.user(t, acme.ID, "camille@example.org", RoleOwner)
	old, _, _ := e.s.CreateSession(ctx, u.ID, acme.ID, false)
	_, _ = e.s.Authenticate(ctx, "camille@example.org", "wrong password!", "192.0.2.1")
	e.clock.Add(11 * time.Hour)
	fresh, _, _ := e.s.CreateSession(ctx, u.ID, acme.ID, false)
	e.clock.Add(2 * time.Hour)
	if err := e.s.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	var sessions, counters int
	_ = e.d.R.QueryRowContext(ctx, `SELECT count(*) FROM sessions`).Scan(&sessions)
	_ = e.d.R.QueryRowContext(ctx, `SELECT count(*) FROM login_throttle`).Scan(&counters)
	if sessions != 1 || counters != 0 {
		t.Errorf("after Prune: %d sessions, %d counters; want 1, 0", sessions, counters)
	}
	if _, err := e.s.Session(ctx, fresh); err != nil {
		t.Errorf("live session pruned: %v", err)
	}
	_ = old
}
