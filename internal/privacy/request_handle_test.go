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

// TestExtendDeadline: an open request received by post may have its
// deadline moved to three months from receipt, once, for a stated reason,
// while the first month runs; closed, late, twice, without a reason or
// another tenant's: refused, the deadline unchanged.
func TestExtendDeadline(t *testing.T) {
	d := dbtest.Open(t)
	ctx := context.Background()
	a := audit.New(d)
	reqs := privacy.NewRequests(d, a)
	tn, other := newTenant(t, d, "shop"), newTenant(t, d, "other")
	staff := audit.Actor{Kind: audit.ActorUser, ID: "u1"}
	record := func(received time.Time, outcome string) privacy.Request {
		t.Helper()
		r, err := reqs.Record(ctx, nil, staff, tn, privacy.Request{Kind: privacy.RequestAccess, SubjectID: db.NewID(),
			Channel: privacy.ChannelPost, ReceivedAt: received, Outcome: outcome})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	received := time.Now().AddDate(0, 0, -10).Truncate(time.Second)
	open := record(received, "")
	late := record(time.Now().AddDate(0, -1, -2), "")
	closed := record(received, privacy.OutcomeDone)

	for _, tc := range []struct {
		name, tenant, id, reason string
		want                     error
	}{
		{"no reason", tn, open.ID, "", privacy.ErrExtendReason},
		{"unknown reason", tn, open.ID, "busy", privacy.ErrExtendReason},
		{"other tenant", other, open.ID, privacy.ExtendComplex, db.ErrNotFound},
		{"answered", tn, closed.ID, privacy.ExtendComplex, privacy.ErrRequestClosed},
		{"first month over", tn, late.ID, privacy.ExtendNumber, privacy.ErrExtendTooLate},
	} {
		if _, err := reqs.Extend(ctx, staff, tc.tenant, tc.id, tc.reason); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if got, _ := reqs.Get(ctx, tn, open.ID); !got.DueAt.Equal(privacy.ResponseTime(received)) || got.Extension != "" {
		t.Fatalf("refused extensions changed the request: %+v", got)
	}
	ext, err := reqs.Extend(ctx, staff, tn, open.ID, privacy.ExtendComplex)
	if err != nil {
		t.Fatal(err)
	}
	want := received.AddDate(0, 3, 0)
	if !ext.DueAt.Equal(want) || ext.Extension != privacy.ExtendComplex {
		t.Errorf("extended: due %v (want %v), reason %q", ext.DueAt, want, ext.Extension)
	}
	if got, _ := reqs.Get(ctx, tn, open.ID); !got.DueAt.Equal(want) || got.Extension != privacy.ExtendComplex {
		t.Errorf("stored: %+v", got)
	}
	if _, err := reqs.Extend(ctx, staff, tn, open.ID, privacy.ExtendNumber); !errors.Is(err, privacy.ErrAlreadyExtended) {
		t.Errorf("a second extension: %v", err)
	}
	// Two months after the first deadline the request is not overdue yet;
	// after the extended one it is.
	if n, _ := reqs.CountOverdue(ctx, tn, received.AddDate(0, 2, 0)); n != 1 { // only "late"
		t.Errorf("overdue two months after receipt: %d, want 1", n)
	}
	if n, _ := reqs.CountOverdue(ctx, tn, received.AddDate(0, 3, 1)); n != 2 {
		t.Errorf("overdue after the extended deadline: %d, want 2", n)
	}
	recs, _ := a.List(ctx, tn, audit.Filter{Action: "request.extend"})
	if len(recs) != 1 || recs[0].Detail["reason"] != privacy.ExtendComplex || recs[0].SubjectID != open.SubjectID {
		t.Errorf("audit of the extension: %+v", recs)
	}
}
