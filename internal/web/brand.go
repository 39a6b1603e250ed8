package web

import (
	"context"
)

// brandFor is how a tenant appears on the public pages its customers see.
// It never fails the page: an unknown tenant shows avis alone.
func (s *Server) brandFor(ctx context.Context, tenantID string) *publicBrand {
	t, err := s.Accounts.TenantByID(ctx, tenantID)
	if err != nil {
		s.Log.Warn("web: brand", "tenant", tenantID, "err", err)
		return nil
	}
	return &publicBrand{Name: t.Name}
}
