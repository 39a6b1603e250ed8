package journey

import (
	"context"
	"fmt"

	"avis/internal/db"
)

// StepName returns the name of one of the tenant's journey steps, or
// db.ErrNotFound (webhook payloads name the step of a response). A step is
// never renamed (it goes only with its tenant), so the names found are
// kept in memory, up to stepNamesKept of them.
func (s *Store) StepName(ctx context.Context, tenantID, stepID string) (string, error) {
	key := tenantID + "/" + stepID
	s.mu.Lock()
	name, ok := s.stepNames[key]
	s.mu.Unlock()
	if ok {
		return name, nil
	}
	err := s.db.R.QueryRowContext(ctx, `/* journey.Store.StepName */ SELECT name FROM journey_steps WHERE tenant_id = $1 AND id = $2`,
		tenantID, stepID).Scan(&name)
	if err != nil {
		return "", fmt.Errorf("journey step: %w", db.Translate(err))
	}
	s.mu.Lock()
	if len(s.stepNames) >= stepNamesKept {
		clear(s.stepNames)
	}
	s.stepNames[key] = name
	s.mu.Unlock()
	return name, nil
}

// stepNamesKept bounds the step names StepName keeps.
const stepNamesKept = 10000
