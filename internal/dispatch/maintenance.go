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
	"avis/internal/feed"
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
	rows, err := s.db.R.QueryContext(ctx, `/* dispatch.Store.Expire */ SELECT DISTINCT tenant_id FROM invitations
		WHERE status IN ('sent', 'delivered') AND expires_at > 0 AND expires_at < $1`, now)
	if err != nil {
		return 0, fmt.Errorf("expire invitations: %w", db.Translate(err))
	}
	var tenants []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("expire invitations: %w", err)
		}
		tenants = append(tenants, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("expire invitations: %w", err)
	}
	var total int64
	for _, tenantID := range tenants {
		// Each tenant's expired invitations move to the end of its feed
		// together.
		err := s.db.Tx(ctx, func(tx *sql.Tx) error {
			seq, err := feed.Reserve(ctx, tx, tenantID, 1)
			if err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `/* dispatch.Store.Expire */ UPDATE invitations SET status = 'expired', updated_at = $2, sync_seq = $3
				WHERE tenant_id = $1 AND status IN ('sent', 'delivered') AND expires_at > 0 AND expires_at < $2`, tenantID, now, seq)
			if err != nil {
				return db.Translate(err)
			}
			n, _ := res.RowsAffected()
			total += n
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("expire invitations: %w", err)
		}
	}
	return total, nil
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
	var q string
	switch status {
	case "delivered":
		q = `/* dispatch.Store.Receipt */ UPDATE invitations SET status = CASE WHEN status = 'sent' THEN 'delivered' ELSE status END,
			delivered_at = $3, updated_at = $3, sync_seq = $4 WHERE tenant_id = $1 AND provider_id = $2 RETURNING id, contact_id`
	case "failed", "undelivered":
		q = `/* dispatch.Store.Receipt */ UPDATE invitations SET status = 'bounced', reason = 'provider_undelivered',
			updated_at = $3, sync_seq = $4 WHERE tenant_id = $1 AND provider_id = $2 AND status IN ('sent', 'sending') RETURNING id, contact_id`
	default:
		return false, nil
	}
	matched := false
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		seq, err := feed.Reserve(ctx, tx, tenantID, 1)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, q, tenantID, providerID, now, seq)
		if err != nil {
			return db.Translate(err)
		}
		var ids [][2]string
		for rows.Next() {
			var id, contactID string
			if err := rows.Scan(&id, &contactID); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, [2]string{id, contactID})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		matched = len(ids) > 0
		if status == "delivered" {
			return nil
		}
		for _, id := range ids {
			if err := s.bounced(ctx, tx, tenantID, id[0], id[1]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("delivery receipt: %w", err)
	}
	return matched, nil
}

// Stop puts a phone number that answered STOP on the tenant's suppression
// list at once; its scheduled SMS invitations are then suppressed when
// their time comes. phone must be E.164.
func (s *Store) Stop(ctx context.Context, tenantID, phone string) error {
	ix, err := s.vault.BlindIndex(ctx, nil, tenantID, contact.FieldPhone, phone)
	if err != nil {
		return err
	}
	// The contact with that number, if any, for the CRM's
	// contact.unsubscribed event.
	contactID, err := s.contacts.FindByAddress(ctx, tenantID, contact.FieldPhone, phone)
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return err
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		already, _, err := privacy.Suppressed(ctx, tx, tenantID, ix)
		if err != nil {
			return err
		}
		if err := privacy.Suppress(ctx, tx, tenantID, ix, privacy.SuppressPhone, privacy.ReasonStop); err != nil {
			return err
		}
		if contactID != "" && !already {
			if err := s.Unsubscribed(ctx, tx, tenantID, contactID, SMS); err != nil {
				return err
			}
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
		already, _, err := privacy.Suppressed(ctx, tx, tenantID, ix)
		if err != nil {
			return err
		}
		if err := privacy.Suppress(ctx, tx, tenantID, ix, kind, privacy.ReasonUnsubscribed); err != nil {
			return err
		}
		if !already {
			if err := s.Unsubscribed(ctx, tx, tenantID, inv.ContactID, inv.Channel); err != nil {
				return err
			}
		}
		return s.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: audit.System("unsubscribe"), Action: "suppression.unsubscribe",
			ObjectKind: "invitation", ObjectID: inv.ID, SubjectID: inv.ContactID, Detail: map[string]string{"channel": inv.Channel}})
	})
	return tenantID, inv.Channel, err
}

// Unsubscribed tells the feed, in the transaction that put the person's
// address on the suppression list, that they opted out of a channel
// (contact.unsubscribed). The event's object is the contact.
func (s *Store) Unsubscribed(ctx context.Context, tx *sql.Tx, tenantID, contactID, channel string) error {
	if contactID == "" {
		return nil
	}
	return s.o.Feed.Emit(ctx, tx, tenantID, feed.Event{Type: feed.ContactUnsubscribed, ObjectID: contactID, ContactID: contactID,
		ExternalID: s.externalID(ctx, tx, tenantID, contactID)})
}
