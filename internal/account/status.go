package account

import (
	"context"
	"fmt"

	"avis/internal/db"
)

// MemberCount returns how many people belong to the tenant. It decrypts
// nothing.
func (s *Store) MemberCount(ctx context.Context, tenantID string) (int, error) {
	var n int
	err := s.d.R.QueryRowContext(ctx, `/* account.Store.MemberCount */
		SELECT count(*) FROM memberships WHERE tenant_id = $1`, tenantID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count members: %w", db.Translate(err))
	}
	return n, nil
}

// MFAEnabled reports whether the person has turned on a second factor. It
// decrypts nothing, so it is not audited; db.ErrNotFound for an unknown id.
func (s *Store) MFAEnabled(ctx context.Context, userID string) (bool, error) {
	var at int64
	err := s.d.R.QueryRowContext(ctx, `/* account.Store.MFAEnabled */
		SELECT totp_enabled_at FROM users WHERE id = $1`, userID).Scan(&at)
	if err != nil {
		return false, fmt.Errorf("second factor status: %w", db.Translate(err))
	}
	return at != 0, nil
}
