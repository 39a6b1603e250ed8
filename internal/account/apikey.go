package account

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"avis/internal/audit"
	"avis/internal/db"
)

// API key shape: "avis_" + key id (26) + "_" + secret (43, base64url of 32
// random bytes, no padding).
const (
	apiKeyPrefix    = "avis_"
	apiKeyIDLen     = 26
	apiKeySecretLen = 43
	apiKeyLen       = len(apiKeyPrefix) + apiKeyIDLen + 1 + apiKeySecretLen
)

// usedEvery bounds how often an API key's last_used_at is written.
const usedEvery = time.Minute

// parseAPIKey splits a token into key id and secret, or ErrBadAPIKey.
func parseAPIKey(token string) (id, secret string, err error) {
	if len(token) != apiKeyLen || !strings.HasPrefix(token, apiKeyPrefix) {
		return "", "", ErrBadAPIKey
	}
	rest := token[len(apiKeyPrefix):]
	id, sep, secret := rest[:apiKeyIDLen], rest[apiKeyIDLen], rest[apiKeyIDLen+1:]
	if sep != '_' || !db.ValidID(id) {
		return "", "", ErrBadAPIKey
	}
	if b, err := base64.RawURLEncoding.Strict().DecodeString(secret); err != nil || len(b) != tokenBytes {
		return "", "", ErrBadAPIKey
	}
	return id, secret, nil
}

// secretHash is how an API key secret is stored: its SHA-256.
func secretHash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// cleanScopes checks every scope is known and returns them sorted without
// duplicates; ErrInvalidScope for an unknown scope or none.
func cleanScopes(scopes []string) ([]string, error) {
	out := make([]string, 0, len(scopes))
	for _, sc := range scopes {
		sc = strings.TrimSpace(sc)
		if !validScope(sc) {
			return nil, fmt.Errorf("%w: %q is not one of %s", ErrInvalidScope, sc, strings.Join(Scopes, ", "))
		}
		out = append(out, sc)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: give at least one scope", ErrInvalidScope)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// CreateAPIKey makes an API key for the tenant with the scopes (each one of
// Scopes: ErrInvalidScope). It returns the key in clear, to be shown once:
// only the SHA-256 of its secret part is stored.
func (s *Store) CreateAPIKey(ctx context.Context, actor audit.Actor, tenantID, name string, scopes []string) (string, APIKey, error) {
	name, err := cleanName(name)
	if err != nil {
		return "", APIKey{}, fmt.Errorf("create API key: %w", err)
	}
	scopes, err = cleanScopes(scopes)
	if err != nil {
		return "", APIKey{}, fmt.Errorf("create API key: %w", err)
	}
	secret, err := randomToken()
	if err != nil {
		return "", APIKey{}, fmt.Errorf("create API key: %w", err)
	}
	k := APIKey{ID: db.NewID(), TenantID: tenantID, Name: name, Scopes: scopes, CreatedAt: db.Time(db.Stamp(s.now()))}
	err = s.d.Tx(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `/* account.Store.CreateAPIKey */
			SELECT 1 FROM tenants WHERE id = $1`, tenantID).Scan(&one); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `/* account.Store.CreateAPIKey */
			INSERT INTO api_keys (tenant_id, id, name, secret_hash, scopes, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			tenantID, k.ID, k.Name, secretHash(secret), strings.Join(scopes, " "), actor.ID, db.Stamp(k.CreatedAt)); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Entry{
			TenantID: tenantID, Actor: actor, Action: "apikey.create", ObjectKind: "apikey", ObjectID: k.ID,
			Detail: map[string]string{"scopes": strings.Join(scopes, " ")},
		})
	})
	if err != nil {
		return "", APIKey{}, fmt.Errorf("create API key: %w", err)
	}
	return apiKeyPrefix + k.ID + "_" + secret, k, nil
}

const apiKeyColumns = `tenant_id, id, name, scopes, created_at, last_used_at, revoked_at`

func scanAPIKey(row interface{ Scan(...any) error }, extra ...any) (APIKey, error) {
	var (
		k                      APIKey
		scopes                 string
		created, used, revoked int64
	)
	if err := row.Scan(append([]any{&k.TenantID, &k.ID, &k.Name, &scopes, &created, &used, &revoked}, extra...)...); err != nil {
		return APIKey{}, err
	}
	k.Scopes = strings.Fields(scopes)
	k.CreatedAt, k.LastUsedAt, k.RevokedAt = db.Time(created), db.Time(used), db.Time(revoked)
	return k, nil
}

// APIKeys returns the tenant's API keys, revoked ones included, oldest
// first.
func (s *Store) APIKeys(ctx context.Context, tenantID string) ([]APIKey, error) {
	rows, err := s.d.R.QueryContext(ctx, `/* account.Store.APIKeys */
		SELECT `+apiKeyColumns+` FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("API keys of tenant %s: %w", tenantID, db.Translate(err))
	}
	defer rows.Close()
	var out []APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, fmt.Errorf("API keys of tenant %s: %w", tenantID, db.Translate(err))
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("API keys of tenant %s: %w", tenantID, db.Translate(err))
	}
	return out, nil
}

// RevokeAPIKey revokes the tenant's key at once. db.ErrNotFound when the
// tenant has no such key (another tenant's key included); revoking a
// revoked key does nothing.
func (s *Store) RevokeAPIKey(ctx context.Context, actor audit.Actor, tenantID, id string) error {
	err := s.d.Tx(ctx, func(tx *sql.Tx) error {
		var revoked int64
		if err := tx.QueryRowContext(ctx, `/* account.Store.RevokeAPIKey */
			SELECT revoked_at FROM api_keys WHERE tenant_id = $1 AND id = $2`, tenantID, id).Scan(&revoked); err != nil {
			return err
		}
		if revoked != 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `/* account.Store.RevokeAPIKey */
			UPDATE api_keys SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2`,
			tenantID, id, db.Stamp(s.now())); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Entry{
			TenantID: tenantID, Actor: actor, Action: "apikey.revoke", ObjectKind: "apikey", ObjectID: id,
		})
	})
	if err != nil {
		return fmt.Errorf("revoke API key %s: %w", id, err)
	}
	return nil
}

// AuthenticateAPIKey returns the key that token is, or ErrBadAPIKey when it
// is malformed, unknown, wrong or revoked. It records when the key was used
// (at most once a minute).
func (s *Store) AuthenticateAPIKey(ctx context.Context, token string) (APIKey, error) {
	id, secret, err := parseAPIKey(strings.TrimSpace(token))
	if err != nil {
		return APIKey{}, err
	}
	var stored []byte
	k, err := scanAPIKey(s.d.R.QueryRowContext(ctx, `/* account.Store.AuthenticateAPIKey */
		SELECT `+apiKeyColumns+`, secret_hash FROM api_keys WHERE id = $1`, id), &stored)
	if err != nil {
		if err = db.Translate(err); errors.Is(err, db.ErrNotFound) {
			return APIKey{}, ErrBadAPIKey
		}
		return APIKey{}, fmt.Errorf("authenticate API key: %w", err)
	}
	if subtle.ConstantTimeCompare(secretHash(secret), stored) != 1 || !k.RevokedAt.IsZero() {
		return APIKey{}, ErrBadAPIKey
	}
	now := s.now()
	if now.Sub(k.LastUsedAt) >= usedEvery {
		if _, err := s.d.W.ExecContext(ctx, `/* account.Store.AuthenticateAPIKey */
			UPDATE api_keys SET last_used_at = $3 WHERE tenant_id = $1 AND id = $2 AND last_used_at < $4`,
			k.TenantID, k.ID, db.Stamp(now), db.Stamp(now.Add(-usedEvery))); err != nil {
			return APIKey{}, fmt.Errorf("authenticate API key: %w", db.Translate(err))
		}
		k.LastUsedAt = db.Time(db.Stamp(now))
	}
	return k, nil
}
