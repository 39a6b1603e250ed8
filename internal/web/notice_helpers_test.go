package web

import (
	"context"
	"strings"
	"testing"

	"avis/internal/audit"
	"avis/internal/db"
	"avis/internal/db/dbtest"
	"avis/internal/privacy"
)

// TestNoticeFor gives the survey and my-data pages the current information
// notice in the page's language, the same version on every call, and the
// link to its public page.
func TestNoticeFor(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	tenant := db.NewID()
	if _, err := d.W.Exec(`INSERT INTO tenants (id, slug, name, created_at) VALUES ($1, 'shop', 'Boutique', $2)`, tenant, db.Now()); err != nil {
		t.Fatal(err)
	}
	s := &Server{Deps: Deps{Notices: privacy.NewNotices(d, audit.New(d), privacy.Operator{Name: "Opérateur", Email: "dpo@avis.example"})}}
	n, err := s.noticeFor(ctx, tenant, "it")
	if err != nil {
		t.Fatal(err)
	}
	if n.Lang != "it" || n.Version != 1 || n.Kind != privacy.KindInformation || !strings.Contains(n.Text, "Boutique") || len(n.Blocks()) == 0 {
		t.Fatalf("notice: %+v", n)
	}
	again, err := s.noticeFor(ctx, tenant, "it")
	if err != nil || again.ID != n.ID {
		t.Fatalf("second call gave %s (%v), want %s", again.ID, err, n.ID)
	}
	if u := noticeURL(n); u != "/legal/"+tenant+"/notice?v="+n.ID+"&lang=it" {
		t.Errorf("noticeURL = %s", u)
	}
	if _, err := s.noticeFor(ctx, db.NewID(), "fr"); err == nil {
		t.Error("an unknown tenant has a notice")
	}
}
