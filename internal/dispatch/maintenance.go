package dispatch

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"avis/internal/audit"
	"avis/internal/contact"
	"avis/internal/db"
	"avis/internal/privacy"
)

// ExpireArgs is the periodic job that marks unanswered invitations whose
// link expired.
type ExpireArgs struct{}

// Kind implements river.JobArgs.
func (ExpireArgs) Kind() string { return "dispatch.expire" }

// ExpireWorker works ExpireArgs.
type ExpireWorker struct {
	river.WorkerDefaults[ExpireArgs]
	Store *Store
}

// Work implements river.Worker.
func (w *ExpireWorker) Work(ctx context.Context, _ *river.Job[ExpireArgs]) error {
	_, err := w.Store.Expire(ctx)
	return err
}

// Expire marks sent and delivered invitations whose link expired as
// expired, and returns how many.
func (s *Store) Expire(ctx context.Context) (int64, error) {
	now := db.Stamp(s.now())
	res, err := s.db.W.ExecContext(ctx, `/* dispatch.Store.Expire */ UPDATE invitations SET status = 'expired', updated_at = $1
		WHERE status IN ('sent', 'delivered') AND expires_at > 0 AND expires_at < $1`, now)
	if err != nil {
		return 0, fmt.Errorf("expire invitations: %w", db.Translate(err))
	}
	return res.RowsAffected()
}

// tickEvery is how often the tick looks for invitations that became due.
const tickEvery = 10 * time.Second

// AddWorkers registers the dispatch workers with ws.
func AddWorkers(ws *river.Workers, s *Store) {
	river.AddWorker(ws, &SendWorker{Store: s})
	river.AddWorker(ws, &RunWorker{Store: s})
	river.AddWorker(ws, &TickWorker{Store: s})
	river.AddWorker(ws, &ExpireWorker{Store: s})
}

// PeriodicJobs are the dispatch jobs run on a schedule.
func PeriodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(tickEvery), func() (river.JobArgs, *river.InsertOpts) {
			return TickArgs{}, nil
		}, &river.PeriodicJobOpts{RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(15*time.Minute), func() (river.JobArgs, *river.InsertOpts) {
			return ExpireArgs{}, nil
		}, &river.PeriodicJobOpts{RunOnStart: true}),
	}
}

// Receipt records a provider's delivery receipt for the invitation it
// names by provider id: delivered, or failed/undelivered (a bounce). It
// reports whether an invitation matched.
func (s *Store) Receipt(ctx context.Context, tenantID, providerID, status string) (bool, error) {
	if providerID == "" {
		return false, nil
	}
	now := db.Now()
	var res sql.Result
	var err error
	switch status {
	case "delivered":
		res, err = s.db.W.ExecContext(ctx, `/* dispatch.Store.Receipt */ UPDATE invitations SET status = CASE WHEN status = 'sent' THEN 'delivered' ELSE status END,
			delivered_at = $3, updated_at = $3 WHERE tenant_id = $1 AND provider_id = $2`, tenantID, providerID, now)
	case "failed", "undelivered":
		res, err = s.db.W.ExecContext(ctx, `/* dispatch.Store.Receipt */ UPDATE invitations SET status = 'bounced', reason = 'provider_undelivered',
			updated_at = $3 WHERE tenant_id = $1 AND provider_id = $2 AND status IN ('sent', 'sending')`, tenantID, providerID, now)
	default:
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("delivery receipt: %w", db.Translate(err))
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// Stop puts a phone number that answered STOP on the tenant's suppression
// list at once; its scheduled SMS invitations are then suppressed when
// their time comes. phone must be E.164.
func (s *Store) Stop(ctx context.Context, tenantID, phone string) error {
	ix, err := s.vault.BlindIndex(ctx, nil, tenantID, contact.FieldPhone, phone)
	if err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := privacy.Suppress(ctx, tx, tenantID, ix, privacy.SuppressPhone, privacy.ReasonStop); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: audit.System("sms"), Action: "suppression.stop",
			ObjectKind: "suppression"})
	})
}

// Unsubscribe puts the address an invitation went to on the suppression
// list (the email, or the phone for an SMS invitation), through its link
// token. It is idempotent and returns the channel unsubscribed.
// An unknown token is db.ErrNotFound.
func (s *Store) Unsubscribe(ctx context.Context, token string) (tenantID, channel string, err error) {
	tenantID, inv, err := s.ByToken(ctx, token)
	if err != nil {
		return "", "", err
	}
	reach, err := s.contacts.Reachability(ctx, nil, tenantID, inv.ContactID)
	if errors.Is(err, db.ErrNotFound) {
		return tenantID, inv.Channel, nil // erased: nothing left to send to
	}
	if err != nil {
		return "", "", err
	}
	ix, kind := reach.EmailIndex, privacy.SuppressEmail
	if inv.Channel == SMS {
		ix, kind = reach.PhoneIndex, privacy.SuppressPhone
	}
	if len(ix) == 0 {
		return tenantID, inv.Channel, nil
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := privacy.Suppress(ctx, tx, tenantID, ix, kind, privacy.ReasonUnsubscribed); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: audit.System("unsubscribe"), Action: "suppression.unsubscribe",
			ObjectKind: "invitation", ObjectID: inv.ID, SubjectID: inv.ContactID, Detail: map[string]string{"channel": inv.Channel}})
	})
	return tenantID, inv.Channel, err
}
