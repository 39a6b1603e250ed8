package account

import (
	"errors"
	"strings"
	"testing"

	"avis/internal/db"
)

func TestCreateTenantSlug(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		slug string
		want error
	}{
		{"acme", nil},
		{"a-1", nil},
		{"0ab", nil},
		{strings.Repeat("x", 40), nil},
		{"ab", ErrInvalidSlug},
		{strings.Repeat("x", 41), ErrInvalidSlug},
		{"-abc", ErrInvalidSlug},
		{"abc-", ErrInvalidSlug},
		{"Acme", ErrInvalidSlug},
		{"ac_me", ErrInvalidSlug},
		{"ac me", ErrInvalidSlug},
		{"", ErrInvalidSlug},
		{"_system", ErrInvalidSlug},
		{"acme", ErrSlugTaken}, // second time
	}
	for _, tt := range tests {
		t.Run(tt.slug, func(t *testing.T) {
			tn, err := e.s.CreateTenant(ctx, admin, tt.slug, "Acme SA")
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("CreateTenant(%q) err = %v, want %v", tt.slug, err, tt.want)
			}
			if err != nil {
				if errors.Is(err, ErrSlugTaken) && !strings.Contains(err.Error(), "choose another slug") {
					t.Errorf("message %q does not say to choose another slug", err)
				}
				if _, err := e.s.TenantBySlug(ctx, tt.slug); tt.want == ErrInvalidSlug && !errors.Is(err, db.ErrNotFound) {
					t.Errorf("refused slug was stored: %v", err)
				}
				return
			}
			got, err := e.s.TenantBySlug(ctx, tt.slug)
			if err != nil || got != tn {
				t.Fatalf("TenantBySlug = %+v, %v; want %+v", got, err, tn)
			}
			if got, err := e.s.TenantByID(ctx, tn.ID); err != nil || got != tn {
				t.Fatalf("TenantByID = %+v, %v; want %+v", got, err, tn)
			}
			if tn.DefaultLanguage != "fr" || tn.RequireMFA || tn.CreatedAt.IsZero() || !db.ValidID(tn.ID) {
				t.Errorf("new tenant %+v", tn)
			}
			if a := e.actions(t, tn.ID); len(a) != 1 || a[0] != "tenant.create" {
				t.Errorf("audit of new tenant = %v, want [tenant.create]", a)
			}
		})
	}
	if _, err := e.s.CreateTenant(ctx, admin, "noname", "  "); !errors.Is(err, ErrInvalidName) {
		t.Errorf("empty name: err = %v, want ErrInvalidName", err)
	}
	if _, err := e.s.TenantByID(ctx, db.NewID()); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("unknown id: err = %v, want db.ErrNotFound", err)
	}
}

func TestSetRequireMFA(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant(t, "acme")
	if err := e.s.SetRequireMFA(ctx, admin, tn.ID, true); err != nil {
		t.Fatal(err)
	}
	got, _ := e.s.TenantByID(ctx, tn.ID)
	if !got.RequireMFA {
		t.Error("RequireMFA not stored")
	}
	if n := e.count(t, tn.ID, "tenant.require_mfa"); n != 1 {
		t.Errorf("%d tenant.require_mfa entries, want 1", n)
	}
	if err := e.s.SetRequireMFA(ctx, admin, db.NewID(), true); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("unknown tenant: err = %v, want db.ErrNotFound", err)
	}
}
