package contact

import (
	"context"
	"fmt"

	"avis/internal/db"
)

// ExternalID returns the CRM's id of one of the tenant's contacts ("" when
// it has none) without decrypting anything, or db.ErrNotFound when the
// contact is gone (erased). Webhook payloads name the person by it.
func (s *Store) ExternalID(ctx context.Context, tenantID, id string) (string, error) {
	var ext string
	err := s.db.R.QueryRowContext(ctx, `/* contact.Store.ExternalID */ SELECT external_id FROM contacts WHERE tenant_id = $1 AND id = $2`,
		tenantID, id).Scan(&ext)
	if err != nil {
		return "", fmt.Errorf("contact external id: %w", db.Translate(err))
	}
	return ext, nil
}
