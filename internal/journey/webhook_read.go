package journey

import (
	"context"
	"fmt"

	"avis/internal/db"
)

// StepName returns the name of one of the tenant's journey steps, or
// db.ErrNotFound (webhook payloads name the step of a response).
func (s *Store) StepName(ctx context.Context, tenantID, stepID string) (string, error) {
	var name string
	err := s.db.R.QueryRowContext(ctx, `/* journey.Store.StepName */ SELECT name FROM journey_steps WHERE tenant_id = $1 AND id = $2`,
		tenantID, stepID).Scan(&name)
	if err != nil {
		return "", fmt.Errorf("journey step: %w", db.Translate(err))
	}
	return name, nil
}
