package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"avis/internal/db"
)

// tokenBytes is the size of random session tokens and API key secrets.
const tokenBytes = 32

// seenEvery bounds how often a session's last_seen_at is written.
const seenEvery = time.Minute

// randomToken returns tokenBytes random bytes in unpadded base64url.
func randomToken() (string, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// tokenHash is how a session token is stored: its SHA-256.
func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// checkMember returns db.ErrNotFound unless the person belongs to the
// tenant; an empty tenant id is always accepted.
func (s *Store) checkMember(ctx context.Context, tenantID, userID string) error {
	if tenantID == "" {
		return nil
	}
	_, err := s.RoleOf(ctx, tenantID, userID)
	return err
}

// CreateSession starts a session for the person, working in tenantID ("" to
// choose later; else they must be a member: db.ErrNotFound). It returns the
// token, to be given to the browser once: only its SHA-256 is stored.
func (s *Store) CreateSession(ctx context.Context, userID, tenantID string, mfaOK bool) (string, Session, error) {
	if err := s.checkMember(ctx, tenantID, userID); err != nil {
		return "", Session{}, fmt.Errorf("create session: %w", err)
	}
	token, err := randomToken()
	if err != nil {
		return "", Session{}, fmt.Errorf("create session: %w", err)
	}
	csrf, err := randomToken()
	if err != nil {
		return "", Session{}, fmt.Errorf("create session: %w", err)
	}
	now := s.now()
	sess := Session{
		UserID: userID, TenantID: tenantID, CSRFToken: csrf, MFAOK: mfaOK,
		ExpiresAt: db.Time(db.Stamp(now.Add(s.o.SessionTTL))),
	}
	_, err = s.d.W.ExecContext(ctx, `/* account.Store.CreateSession */
		INSERT INTO sessions (id_hash, user_id, tenant_id, csrf_token, mfa_ok, created_at, expires_at, last_seen_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $6)`,
		tokenHash(token), userID, tenantID, csrf, mfaOK, db.Stamp(now), db.Stamp(sess.ExpiresAt))
	if err != nil {
		return "", Session{}, fmt.Errorf("create session: %w", db.Translate(err))
	}
	return token, sess, nil
}

// Session returns the session of the token, ErrSessionExpired when it is
// unknown, expired, or its person is disabled. It records that the session
// was seen (at most once a minute).
func (s *Store) Session(ctx context.Context, token string) (Session, error) {
	if token == "" || len(token) > 128 {
		return Session{}, ErrSessionExpired
	}
	id := tokenHash(token)
	var (
		sess                      Session
		expires, seen, disabledAt int64
	)
	err := s.d.R.QueryRowContext(ctx, `/* account.Store.Session */
		SELECT s.user_id, s.tenant_id, s.csrf_token, s.mfa_ok, s.expires_at, s.last_seen_at, u.disabled_at
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.id_hash = $1`, id).Scan(&sess.UserID, &sess.TenantID, &sess.CSRFToken, &sess.MFAOK, &expires, &seen, &disabledAt)
	if err != nil {
		if err = db.Translate(err); errors.Is(err, db.ErrNotFound) {
			return Session{}, ErrSessionExpired
		}
		return Session{}, fmt.Errorf("session: %w", err)
	}
	now := db.Stamp(s.now())
	if expires <= now || disabledAt != 0 {
		if _, err := s.d.W.ExecContext(ctx, `/* account.Store.Session */
			DELETE FROM sessions WHERE id_hash = $1`, id); err != nil {
			return Session{}, fmt.Errorf("session: %w", db.Translate(err))
		}
		return Session{}, ErrSessionExpired
	}
	sess.ExpiresAt = db.Time(expires)
	if now-seen >= seenEvery.Microseconds() {
		if _, err := s.d.W.ExecContext(ctx, `/* account.Store.Session */
			UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1`, id, now); err != nil {
			return Session{}, fmt.Errorf("session: %w", db.Translate(err))
		}
	}
	return sess, nil
}

// updateSession runs an update of the token's live session and returns
// ErrSessionExpired when there is none.
func (s *Store) updateSession(ctx context.Context, query string, token string, args ...any) error {
	res, err := s.d.W.ExecContext(ctx, query, append([]any{tokenHash(token), db.Stamp(s.now())}, args...)...)
	if err != nil {
		return db.Translate(err)
	}
	if err := oneRow(res); err != nil {
		return ErrSessionExpired
	}
	return nil
}

// SetSessionTenant makes the session work in the tenant, which the person
// must belong to (db.ErrNotFound). ErrSessionExpired when the session is
// gone.
func (s *Store) SetSessionTenant(ctx context.Context, token, tenantID string) error {
	sess, err := s.Session(ctx, token)
	if err != nil {
		return fmt.Errorf("set session tenant: %w", err)
	}
	if err := s.checkMember(ctx, tenantID, sess.UserID); err != nil {
		return fmt.Errorf("set session tenant: %w", err)
	}
	err = s.updateSession(ctx, `/* account.Store.SetSessionTenant */
		UPDATE sessions SET tenant_id = $3 WHERE id_hash = $1 AND expires_at > $2`, token, tenantID)
	if err != nil {
		return fmt.Errorf("set session tenant: %w", err)
	}
	return nil
}

// MarkMFA records that the session passed the second factor.
func (s *Store) MarkMFA(ctx context.Context, token string) error {
	err := s.updateSession(ctx, `/* account.Store.MarkMFA */
		UPDATE sessions SET mfa_ok = $3 WHERE id_hash = $1 AND expires_at > $2`, token, true)
	if err != nil {
		return fmt.Errorf("mark session MFA: %w", err)
	}
	return nil
}

// DeleteSession ends the session of the token (log out). Ending an unknown
// session is not an error.
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	if _, err := s.d.W.ExecContext(ctx, `/* account.Store.DeleteSession */
		DELETE FROM sessions WHERE id_hash = $1`, tokenHash(token)); err != nil {
		return fmt.Errorf("delete session: %w", db.Translate(err))
	}
	return nil
}

// DeleteUserSessions ends every session of the person (after a password
// change, a removal, or on their request).
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) error {
	if _, err := s.d.W.ExecContext(ctx, `/* account.Store.DeleteUserSessions */
		DELETE FROM sessions WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("delete sessions of user %s: %w", userID, db.Translate(err))
	}
	return nil
}

// Prune removes expired sessions and login throttle counters whose window
// and lock have passed; a periodic job calls it.
func (s *Store) Prune(ctx context.Context) error {
	now := s.now()
	if _, err := s.d.W.ExecContext(ctx, `/* account.Store.Prune */
		DELETE FROM sessions WHERE expires_at <= $1`, db.Stamp(now)); err != nil {
		return fmt.Errorf("prune sessions: %w", db.Translate(err))
	}
	if _, err := s.d.W.ExecContext(ctx, `/* account.Store.Prune */
		DELETE FROM login_throttle WHERE window_start <= $1 AND locked_until <= $2`,
		db.Stamp(now.Add(-s.o.Window)), db.Stamp(now)); err != nil {
		return fmt.Errorf("prune login throttle: %w", db.Translate(err))
	}
	return nil
}
