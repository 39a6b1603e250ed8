package privacy

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"avis/internal/db"
)

// AccessLinkTTL is how long an access link to a person's own page works.
const AccessLinkTTL = time.Hour

// AccessTokenLen is the length of an access token: 32 random bytes in
// base64url, so it is never mistaken for an invitation token (22).
const AccessTokenLen = 43

// ErrAccessExpired says an access link existed but no longer works.
var ErrAccessExpired = errors.New("this access link has expired")

// Access is what a valid access link grants: one contact's own page.
type Access struct {
	ID, TenantID, ContactID, Channel string
	ExpiresAt                        time.Time
}

func accessHash(token string) []byte {
	h := sha256.Sum256([]byte("avis access link\x00" + token))
	return h[:]
}

// IssueAccess makes a single-purpose access link for a contact, through q
// (a transaction or the writer): it opens that contact's own page and
// nothing else, until now + AccessLinkTTL. Only the token's hash is
// stored; the token is returned once. Expired links of the tenant are
// deleted on the way.
func IssueAccess(ctx context.Context, q db.Querier, tenantID, contactID, channel string, now time.Time) (string, Access, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", Access{}, fmt.Errorf("access link: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	a := Access{ID: db.NewID(), TenantID: tenantID, ContactID: contactID, Channel: channel, ExpiresAt: db.Time(db.Stamp(now.Add(AccessLinkTTL)))}
	if _, err := q.ExecContext(ctx, `/* privacy.IssueAccess */ DELETE FROM subject_access_links WHERE tenant_id = $1 AND expires_at < $2`,
		tenantID, db.Stamp(now)); err != nil {
		return "", Access{}, fmt.Errorf("access link: %w", db.Translate(err))
	}
	_, err := q.ExecContext(ctx, `/* privacy.IssueAccess */ INSERT INTO subject_access_links (tenant_id, id, token_hash, contact_id, channel,
		created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		tenantID, a.ID, accessHash(token), contactID, channel, db.Stamp(now), db.Stamp(a.ExpiresAt))
	if err != nil {
		return "", Access{}, fmt.Errorf("access link: %w", db.Translate(err))
	}
	return token, a, nil
}

// AccessByToken returns what an access token grants at now: db.ErrNotFound
// for an unknown token, ErrAccessExpired (with the link, so the caller can
// offer a new one) for one past its hour.
func AccessByToken(ctx context.Context, q db.Querier, token string, now time.Time) (Access, error) {
	if len(token) != AccessTokenLen {
		return Access{}, db.ErrNotFound
	}
	var a Access
	var exp int64
	err := q.QueryRowContext(ctx, `/* privacy.AccessByToken */ SELECT id, tenant_id, contact_id, channel, expires_at
		FROM subject_access_links WHERE token_hash = $1`, accessHash(token)).Scan(&a.ID, &a.TenantID, &a.ContactID, &a.Channel, &exp)
	if err != nil {
		return Access{}, fmt.Errorf("access link: %w", db.Translate(err))
	}
	a.ExpiresAt = db.Time(exp)
	if !now.Before(a.ExpiresAt) {
		return a, ErrAccessExpired
	}
	return a, nil
}

// RevokeAccess deletes every access link of a contact, through q (on
// erasure), and returns how many there were.
func RevokeAccess(ctx context.Context, q db.Querier, tenantID, contactID string) (int64, error) {
	res, err := q.ExecContext(ctx, `/* privacy.RevokeAccess */ DELETE FROM subject_access_links WHERE tenant_id = $1 AND contact_id = $2`,
		tenantID, contactID)
	if err != nil {
		return 0, fmt.Errorf("revoke access links: %w", db.Translate(err))
	}
	return res.RowsAffected()
}

// ForgetAccess is the erase hook of the access links
// (contact.Store.OnErase): the person's links stop working with their
// erasure.
func ForgetAccess(ctx context.Context, tx *sql.Tx, tenantID, contactID string) error {
	_, err := RevokeAccess(ctx, tx, tenantID, contactID)
	return err
}
