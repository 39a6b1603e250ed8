package privacy_test

import (
	"context"
	"errors"
	"reflect"
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

// TestCurrentBlocks: the blocks of a notice from the cache are those of
// its text, in every language.
func TestCurrentBlocks(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	s := privacy.NewNotices(d, audit.New(d), testOperator)
	tenant := noticeTenant(t, d, "shop")
	for _, lang := range []string{"fr", "en", "de"} {
		for range 2 { // made, then from the cache
			n, err := s.Current(ctx, tenant, privacy.KindInformation, lang)
			if err != nil {
				t.Fatal(err)
			}
			want := privacy.Notice{Text: n.Text}.Blocks()
			if got := n.Blocks(); len(want) < 5 || !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: %d blocks, want %d", lang, len(got), len(want))
			}
		}
	}
}
