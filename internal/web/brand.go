package web

import (
	"context"
	"strconv"

	"avis/internal/db"
)

// brandFor is how a tenant appears on the public pages its customers see:
// its name, and its logo and colour when its privacy profile sets them
// (served from /brand/{tenant}/, so that the pages load nothing from another
// origin). It never fails the page: an unknown tenant shows avis alone, a
// profile that cannot be read shows the name alone.
func (s *Server) brandFor(ctx context.Context, tenantID string) *publicBrand {
	t, err := s.Accounts.TenantByID(ctx, tenantID)
	if err != nil {
		s.Log.Warn("web: brand", "tenant", tenantID, "err", err)
		return nil
	}
	b := &publicBrand{Name: t.Name}
	if s.Notices == nil {
		return b
	}
	p, err := s.Notices.Brand(ctx, tenantID)
	if err != nil {
		s.Log.Warn("web: brand profile", "tenant", tenantID, "err", err)
		return b
	}
	if p.LogoType != "" {
		b.LogoURL = logoURL(p)
	}
	if p.BrandColor != "" {
		b.StyleURL = "/brand/" + tenantID + "/style.css?v=" + strconv.FormatInt(db.Stamp(p.UpdatedAt), 36)
	}
	return b
}
