package privacy_test

import (
	"context"
	"errors"
	"testing"

	"avis/internal/audit"
	"avis/internal/db"
	"avis/internal/db/dbtest"
	"avis/internal/privacy"
)

// TestPublic: the public pages get the tenant's name with its brand — the
// default profile before one is saved, the saved colour at once after —
// and nothing for an unknown tenant.
func TestPublic(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	s := privacy.NewNotices(d, audit.New(d), testOperator)
	tenant := noticeTenant(t, d, "shop")
	name, p, err := s.Public(ctx, tenant)
	if err != nil || name != "Company shop" || p.BrandColor != "" || !p.UpdatedAt.IsZero() {
		t.Fatalf("before a profile: %q, %+v, %v", name, p, err)
	}
	if _, err := s.SaveProfile(ctx, audit.System("test"), fullProfile(tenant)); err != nil {
		t.Fatal(err)
	}
	name, p, err = s.Public(ctx, tenant)
	if err != nil || name != "Company shop" || p.BrandColor != "#0b5cad" || p.Logo != nil {
		t.Fatalf("after a profile: %q, %+v, %v", name, p, err)
	}
	if _, _, err := s.Public(ctx, db.NewID()); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("unknown tenant: %v", err)
	}
}
