package web

import (
	"context"
	"errors"
	"strconv"

	"avis/internal/db"
)

// brandFor is how a tenant appears on the public pages its customers see:
// its name, and its logo and colour when its privacy profile sets them
// (served from /brand/{tenant}/, so that the pages load nothing from another
// origin). It never fails the page: an unknown tenant shows avis alone, a
// profile that cannot be read shows the name alone.
func (s *Server) brandFor(ctx context.Context, tenantID string) *publicBrand {
	// The name and the profile come from one short cache: the survey page
	// asks for them on every page shown and sent.
	name, p, err := s.Notices.Public(ctx, tenantID)
	if errors.Is(err, db.ErrNotFound) {
		s.Log.Warn("web: brand", "tenant", tenantID, "err", err)
		return nil
	}
	if err != nil {
		// The profile cannot be read: the name alone.
		t, terr := s.Accounts.TenantByID(ctx, tenantID)
		if terr != nil {
			s.Log.Warn("web: brand", "tenant", tenantID, "err", terr)
			return nil
		}
		s.Log.Warn("web: brand profile", "tenant", tenantID, "err", err)
		return &publicBrand{Name: t.Name}
	}
	b := &publicBrand{Name: name}
	if p.LogoType != "" {
		b.LogoURL = logoURL(p)
	}
	if p.BrandColor != "" {
		b.StyleURL = "/brand/" + tenantID + "/style.css?v=" + strconv.FormatInt(db.Stamp(p.UpdatedAt), 36)
	}
	return b
}
