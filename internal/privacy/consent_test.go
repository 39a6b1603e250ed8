package privacy_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"avis/internal/db"
	"avis/internal/db/dbtest"
	"avis/internal/privacy"
)

func consentTenant(t *testing.T, d *db.DB, slug string) string {
	t.Helper()
	id := db.NewID()
	if _, err := d.W.Exec(`INSERT INTO tenants (id, slug, name, created_at) VALUES ($1, $2, $3, $4)`, id, slug, "Company "+slug, db.Now()); err != nil {
		t.Fatal(err)
	}
	return id
}

const wording = "I agree that my review may be published with my first name and the initial of my last name"

// TestConsentLedger records a consent, finds it for the person and the
// response, withdraws it, and refuses receipts that lack what P4 asks.
func TestConsentLedger(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	l := privacy.NewConsents(d)
	tenant, other := consentTenant(t, d, "shop"), consentTenant(t, d, "other")
	subject, response := db.NewID(), db.NewID()

	// Nothing recorded: no consent to publish.
	if ok, err := l.MayPublish(ctx, tenant, response); err != nil || ok {
		t.Fatalf("MayPublish before any consent = %v, %v", ok, err)
	}

	given := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	in := privacy.Receipt{TenantID: tenant, SubjectID: subject, Purpose: privacy.PurposePublishReview, ResponseID: response,
		NoticeID: "n1", NoticeHash: "abc", Wording: wording, Language: "en", Channel: privacy.ChannelWeb,
		Method: privacy.MethodCheckbox, GivenAt: given}
	c, err := l.Record(ctx, nil, in)
	if err != nil {
		t.Fatal(err)
	}
	if !db.ValidID(c.ID) || c.Jurisdiction != privacy.JurisdictionEU {
		t.Fatalf("receipt = %+v", c)
	}
	got, err := l.ForSubject(ctx, tenant, subject)
	if err != nil || len(got) != 1 {
		t.Fatalf("ForSubject = %v, %v", got, err)
	}
	g := got[0]
	if g.Wording != wording || g.NoticeID != "n1" || g.NoticeHash != "abc" || g.Language != "en" || g.Channel != "web" ||
		g.Method != "checkbox" || !g.GivenAt.Equal(given) || !g.Valid() || g.ResponseID != response {
		t.Fatalf("stored receipt = %+v", g)
	}
	if ok, err := l.MayPublish(ctx, tenant, response); err != nil || !ok {
		t.Fatalf("MayPublish after consent = %v, %v", ok, err)
	}
	// Another tenant sees nothing.
	if got, _ := l.ForSubject(ctx, other, subject); len(got) != 0 {
		t.Fatalf("another tenant sees %d receipts", len(got))
	}
	if ok, _ := l.MayPublish(ctx, other, response); ok {
		t.Fatal("another tenant may publish the response")
	}
	if err := l.Withdraw(ctx, other, c.ID, time.Time{}); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("withdraw from another tenant: %v", err)
	}

	// Withdrawal: once, the first time kept.
	w := given.Add(48 * time.Hour)
	if err := l.Withdraw(ctx, tenant, c.ID, w); err != nil {
		t.Fatal(err)
	}
	if err := l.Withdraw(ctx, tenant, c.ID, w.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	g, err = l.Get(ctx, tenant, c.ID)
	if err != nil || !g.WithdrawnAt.Equal(w) || g.Valid() {
		t.Fatalf("after withdrawal: %+v, %v", g, err)
	}
	if !g.ValidAt(given.Add(time.Hour)) || g.ValidAt(w) || g.ValidAt(given.Add(-time.Hour)) {
		t.Fatal("ValidAt does not follow the given and withdrawn times")
	}
	if ok, _ := l.MayPublish(ctx, tenant, response); ok {
		t.Fatal("a withdrawn consent still allows publication")
	}

	// Erasure withdraws every standing consent of the person.
	in.GivenAt = time.Time{}
	if _, err := l.Record(ctx, nil, in); err != nil {
		t.Fatal(err)
	}
	if n, err := privacy.WithdrawSubject(ctx, d.W, tenant, subject, time.Time{}); err != nil || n != 1 {
		t.Fatalf("WithdrawSubject = %d, %v", n, err)
	}
	if ok, _ := l.MayPublish(ctx, tenant, response); ok {
		t.Fatal("consent still stands after WithdrawSubject")
	}

	// No consent, no record.
	for name, change := range map[string]func(*privacy.Receipt){
		"no subject": func(c *privacy.Receipt) { c.SubjectID = "" },
		"no purpose": func(c *privacy.Receipt) { c.Purpose = "" },
		"no wording": func(c *privacy.Receipt) { c.Wording = "  " },
		"no method":  func(c *privacy.Receipt) { c.Method = "" },
		"no channel": func(c *privacy.Receipt) { c.Channel = "" },
		"bad UTF-8":  func(c *privacy.Receipt) { c.Wording = "\xff" },
	} {
		bad := in
		change(&bad)
		if _, err := l.Record(ctx, nil, bad); !errors.Is(err, privacy.ErrInvalidConsent) {
			t.Errorf("%s: Record = %v, want ErrInvalidConsent", name, err)
		}
	}
	if got, _ := l.ForSubject(ctx, tenant, subject); len(got) != 2 {
		t.Fatalf("%d receipts after refused ones, want 2", len(got))
	}
}
