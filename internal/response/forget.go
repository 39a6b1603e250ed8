package response

import (
	"context"
	"database/sql"
	"fmt"

	"avis/internal/db"
	"avis/internal/privacy"
)

// ForgetContact cuts a person's responses loose from them, inside the
// caller's transaction (the erasure of the contact): their free-text
// answers are deleted (they were sealed under the person's key, which the
// erasure shreds anyway), the link to the contact, the invitation and the
// resume token is removed, and their standing consents are withdrawn. The
// scores, choices, survey, step, language and times stay, as anonymous
// statistics. It fits contact.Store.OnErase.
func (s *Store) ForgetContact(ctx context.Context, tx *sql.Tx, tenantID, contactID string) error {
	if contactID == "" {
		return nil
	}
	now := s.now()
	if _, err := tx.ExecContext(ctx, `/* response.Store.ForgetContact */ DELETE FROM response_answers
		WHERE tenant_id = $1 AND kind IN ('text', 'longtext')
		AND response_id IN (SELECT id FROM responses WHERE tenant_id = $1 AND contact_id = $2)`, tenantID, contactID); err != nil {
		return fmt.Errorf("forget contact's responses: %w", db.Translate(err))
	}
	if _, err := privacy.WithdrawSubject(ctx, tx, tenantID, contactID, now); err != nil {
		return fmt.Errorf("forget contact's responses: %w", err)
	}
	_, err := tx.ExecContext(ctx, `/* response.Store.ForgetContact */ UPDATE responses SET contact_id = '', invitation_id = NULL,
		resume_hash = NULL, updated_at = $3 WHERE tenant_id = $1 AND contact_id = $2`, tenantID, contactID, db.Stamp(now))
	if err != nil {
		return fmt.Errorf("forget contact's responses: %w", db.Translate(err))
	}
	return nil
}
