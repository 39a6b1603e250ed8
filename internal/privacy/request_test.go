package privacy_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"avis/internal/audit"
	"avis/internal/db"
	"avis/internal/db/dbtest"
	"avis/internal/privacy"
)

// newTenant stores a tenant row and returns its id.
func newTenant(t *testing.T, d *db.DB, slug string) string {
	t.Helper()
	id := db.NewID()
	if _, err := d.W.ExecContext(context.Background(), `INSERT INTO tenants (id, slug, name, default_language, require_mfa, created_at)
		VALUES ($1, $2, $3, 'fr', FALSE, $4)`, id, slug, "Company "+slug, db.Now()); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestRequestLog: each self-service request is logged completed at once
// with its one-month deadline and an audit entry; a request received by
// email stays open, shows as overdue after a month, and is completed once.
func TestRequestLog(t *testing.T) {
	d := dbtest.Open(t)
	ctx := context.Background()
	a := audit.New(d)
	reqs := privacy.NewRequests(d, a)
	tn, other := newTenant(t, d, "shop"), newTenant(t, d, "other")
	subject := db.NewID()
	who := audit.Actor{Kind: audit.ActorPublic, ID: "link1"}

	received := time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC)
	for _, k := range privacy.RequestKinds {
		r, err := reqs.Record(ctx, nil, who, tn, privacy.Request{Kind: k, SubjectID: subject, Channel: privacy.ChannelSelfService,
			ReceivedAt: received, Outcome: privacy.OutcomeDone})
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		if !r.CompletedAt.Equal(received) || !r.DueAt.Equal(time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)) {
			t.Errorf("%s: completed %v, due %v", k, r.CompletedAt, r.DueAt)
		}
	}
	open, err := reqs.Record(ctx, nil, audit.Actor{Kind: audit.ActorUser, ID: "u1"}, tn, privacy.Request{Kind: privacy.RequestErasure,
		SubjectID: subject, Channel: privacy.ChannelEmail, ReceivedAt: time.Now().AddDate(0, -2, 0)})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []privacy.Request{{Kind: "gossip", SubjectID: subject, Channel: "self-service"}, {Kind: privacy.RequestAccess, Channel: "self-service"}} {
		if _, err := reqs.Record(ctx, nil, who, tn, bad); !errors.Is(err, privacy.ErrInvalidRequest) {
			t.Errorf("%+v: %v", bad, err)
		}
	}

	all, err := reqs.List(ctx, tn, privacy.RequestFilter{})
	if err != nil || len(all) != len(privacy.RequestKinds)+1 {
		t.Fatalf("list: %d, %v", len(all), err)
	}
	if all[0].ID != open.ID || !all[0].Overdue(time.Now()) || all[1].Overdue(time.Now()) {
		t.Errorf("newest first, the open one overdue: %+v", all[:2])
	}
	if n, _ := reqs.CountOverdue(ctx, tn, time.Now()); n != 1 {
		t.Errorf("overdue: %d", n)
	}
	if got, _ := reqs.List(ctx, tn, privacy.RequestFilter{Kind: privacy.RequestErasure}); len(got) != 2 {
		t.Errorf("erasures: %d", len(got))
	}
	if got, _ := reqs.List(ctx, tn, privacy.RequestFilter{OpenOnly: true}); len(got) != 1 || got[0].ID != open.ID {
		t.Errorf("open only: %+v", got)
	}
	if got, _ := reqs.List(ctx, other, privacy.RequestFilter{}); len(got) != 0 {
		t.Errorf("another tenant sees %d requests", len(got))
	}
	if err := reqs.Complete(ctx, audit.Actor{Kind: audit.ActorUser, ID: "u1"}, tn, open.ID, privacy.OutcomeDone); err != nil {
		t.Fatal(err)
	}
	if n, _ := reqs.CountOverdue(ctx, tn, time.Now()); n != 0 {
		t.Errorf("overdue after completion: %d", n)
	}
	if err := reqs.Complete(ctx, who, other, open.ID, privacy.OutcomeDone); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("completing another tenant's request: %v", err)
	}

	// Every request is in the audit log, by its actor, about its subject.
	recs, err := a.List(ctx, tn, audit.Filter{SubjectID: subject, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range recs {
		seen[r.Action] = true
	}
	for _, k := range privacy.RequestKinds {
		if !seen["request."+k] {
			t.Errorf("no audit entry request.%s", k)
		}
	}
	if !seen["request.complete"] {
		t.Error("no audit entry for the completion")
	}
}

// TestAccessLinks: a link opens one contact's page for an hour, is stored
// only as a hash, and is revoked with the contact.
func TestAccessLinks(t *testing.T) {
	d := dbtest.Open(t)
	ctx := context.Background()
	tn := newTenant(t, d, "shop")
	contactID := db.NewID()
	now := time.Now()
	token, a, err := privacy.IssueAccess(ctx, d.W, tn, contactID, "email", now)
	if err != nil {
		t.Fatal(err)
	}
	if len(token) != privacy.AccessTokenLen {
		t.Fatalf("token length %d", len(token))
	}
	var n int
	if err := d.R.QueryRowContext(ctx, `SELECT count(*) FROM subject_access_links WHERE token_hash = $1`, []byte(token)).Scan(&n); err != nil || n != 0 {
		t.Errorf("the token is stored in clear (%d, %v)", n, err)
	}
	got, err := privacy.AccessByToken(ctx, d.R, token, now.Add(59*time.Minute))
	if err != nil || got.ContactID != contactID || got.TenantID != tn || got.ID != a.ID {
		t.Fatalf("by token: %+v %v", got, err)
	}
	if _, err := privacy.AccessByToken(ctx, d.R, token, now.Add(61*time.Minute)); !errors.Is(err, privacy.ErrAccessExpired) {
		t.Errorf("after an hour: %v", err)
	}
	forged := []byte(token)
	forged[0] ^= 1
	if _, err := privacy.AccessByToken(ctx, d.R, string(forged), now); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("forged: %v", err)
	}
	if _, err := privacy.AccessByToken(ctx, d.R, "short", now); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("short: %v", err)
	}
	// A new link purges the expired ones.
	if _, _, err := privacy.IssueAccess(ctx, d.W, tn, db.NewID(), "sms", now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := privacy.AccessByToken(ctx, d.R, token, now); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("expired link not purged: %v", err)
	}
	token2, _, _ := privacy.IssueAccess(ctx, d.W, tn, contactID, "email", now)
	if k, err := privacy.RevokeAccess(ctx, d.W, tn, contactID); err != nil || k != 1 {
		t.Fatalf("revoke: %d %v", k, err)
	}
	if _, err := privacy.AccessByToken(ctx, d.R, token2, now); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("revoked: %v", err)
	}
}
