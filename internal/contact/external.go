package contact

import (
	"context"
	"fmt"

	"avis/internal/db"
)

// IDByExternal returns the id of the tenant's contact with this external
// id (the CRM's), without decrypting anything: db.ErrNotFound when there
// is none.
func (s *Store) IDByExternal(ctx context.Context, tenantID, externalID string) (string, error) {
	if externalID == "" {
		return "", fmt.Errorf("contact by external id: %w", db.ErrNotFound)
	}
	var id string
	err := s.db.R.QueryRowContext(ctx, `/* contact.Store.IDByExternal */ SELECT id FROM contacts
		WHERE tenant_id = $1 AND external_id = $2`, tenantID, externalID).Scan(&id)
	if err != nil {
		return "", fmt.Errorf("contact by external id: %w", db.Translate(err))
	}
	return id, nil
}
