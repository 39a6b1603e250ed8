package crmsync

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"avis/internal/db"
	"avis/internal/feed"
)

// endpoints returns the tenant's endpoints, cached for endpointCacheTTL (a
// change made by this process is seen at once).
func (w *Webhooks) endpoints(ctx context.Context, q db.Querier, tenantID string) ([]Endpoint, error) {
	now := w.o.Now()
	w.mu.Lock()
	c, ok := w.cache[tenantID]
	w.mu.Unlock()
	if ok && now.Before(c.until) {
		return c.eps, nil
	}
	eps, err := w.list(ctx, q, tenantID)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	if len(w.cache) > 10000 {
		clear(w.cache)
	}
	w.cache[tenantID] = cachedEndpoints{eps: eps, until: now.Add(endpointCacheTTL)}
	w.mu.Unlock()
	return eps, nil
}

// erasedContact is the contact a subject.erased event is about.
func erasedContact(ev feed.Event) string {
	if ev.ContactID != "" {
		return ev.ContactID
	}
	return ev.ObjectID
}

// Hook queues the events for the endpoints that want them, inside the
// transaction of the change (register it with feed.Feed.OnEmit): a
// delivery row per event and endpoint, and a delivery job per endpoint,
// exist exactly when the change commits.
//
// subject.erased goes to every endpoint whose filter lists it and, whatever
// its filter, to every endpoint that was sent (or was about to be sent)
// data about that person: erasure travels to each recipient (GDPR 17(2),
// 19). Deliveries about that person still waiting are skipped: nothing
// more about them leaves avis.
func (w *Webhooks) Hook(ctx context.Context, tx *sql.Tx, tenantID string, evs []feed.Event) error {
	eps, err := w.endpoints(ctx, tx, tenantID)
	if err != nil {
		return fmt.Errorf("webhooks: %w", err)
	}
	if len(eps) == 0 {
		return nil
	}
	type queued struct {
		ep string
		ev feed.Event
	}
	var out []queued
	for _, ev := range evs {
		if ev.Type != feed.SubjectErased {
			for _, ep := range eps {
				if ep.queues() && ep.Wants(ev.Type) {
					out = append(out, queued{ep.ID, ev})
				}
			}
			continue
		}
		contactID := erasedContact(ev)
		received := map[string]bool{}
		if contactID != "" {
			rows, err := tx.QueryContext(ctx, `/* crmsync.Webhooks.Hook */ SELECT DISTINCT endpoint_id FROM webhook_deliveries
				WHERE tenant_id = $1 AND contact_id = $2`, tenantID, contactID)
			if err != nil {
				return fmt.Errorf("webhooks: recipients of an erased person: %w", db.Translate(err))
			}
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return fmt.Errorf("webhooks: recipients of an erased person: %w", err)
				}
				received[id] = true
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("webhooks: recipients of an erased person: %w", err)
			}
			if len(received) > 0 {
				if _, err := tx.ExecContext(ctx, `/* crmsync.Webhooks.Hook */ UPDATE webhook_deliveries SET status = 'skipped',
					error = $4, updated_at = $3
					WHERE tenant_id = $1 AND contact_id = $2 AND status IN ('pending', 'retrying')`,
					tenantID, contactID, db.Stamp(w.o.Now()), probErased); err != nil {
					return fmt.Errorf("webhooks: skip an erased person's deliveries: %w", db.Translate(err))
				}
			}
		}
		for _, ep := range eps {
			if (ep.queues() && ep.Wants(ev.Type)) || (received[ep.ID] && ep.DisabledKind != DisabledGone) {
				out = append(out, queued{ep.ID, ev})
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	const cols = 13
	var sb strings.Builder
	sb.WriteString(`/* crmsync.Webhooks.Hook */ INSERT INTO webhook_deliveries (tenant_id, id, endpoint_id, ord, event_id, event_type,
		object_id, contact_id, external_id, occurred_at, status, created_at, updated_at) VALUES `)
	args := make([]any, 0, len(out)*cols)
	now := db.Stamp(w.o.Now())
	for i, q := range out {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteByte('(')
		for j := range cols {
			if j > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(w.db.Dialect.Arg(len(args) + j + 1))
		}
		sb.WriteByte(')')
		args = append(args, tenantID, db.NewID(), q.ep, q.ev.Seq, q.ev.ID, q.ev.Type, q.ev.ObjectID, q.ev.ContactID,
			q.ev.ExternalID, db.Stamp(q.ev.At), StatusPending, now, now)
	}
	if _, err := tx.ExecContext(ctx, sb.String(), args...); err != nil {
		return fmt.Errorf("webhooks: queue deliveries: %w", db.Translate(err))
	}
	// A job for each enabled endpoint; a disabled one keeps its rows for
	// when it is enabled again (which queues a job).
	done := map[string]bool{}
	for _, ep := range eps {
		done[ep.ID] = !ep.Enabled
	}
	for _, q := range out {
		if done[q.ep] {
			continue
		}
		done[q.ep] = true
		if err := w.enqueue(ctx, tx, tenantID, q.ep, false); err != nil {
			return err
		}
	}
	return nil
}

// enqueue makes sure a delivery job will look at the endpoint after tx
// commits. Each call counts a wake-up on the endpoint's row; a job is
// inserted only when none is queued or running, so a burst of events
// makes one job that drains them all. The job, before it ends, checks
// that no wake-up came since its last look (see drain). force inserts a
// job in any case (manual replays, enabling again): a second job finds
// the endpoint's lease taken and ends.
func (w *Webhooks) enqueue(ctx context.Context, tx *sql.Tx, tenantID, endpointID string, force bool) error {
	res, err := tx.ExecContext(ctx, `/* crmsync.Webhooks.enqueue */ UPDATE webhook_endpoints SET wake_seq = wake_seq + 1
		WHERE tenant_id = $1 AND id = $2 AND job_queued`, tenantID, endpointID)
	if err != nil {
		return fmt.Errorf("webhooks: wake an endpoint: %w", db.Translate(err))
	}
	if n, _ := res.RowsAffected(); n == 1 && !force {
		return nil
	}
	if !force {
		res, err = tx.ExecContext(ctx, `/* crmsync.Webhooks.enqueue */ UPDATE webhook_endpoints SET wake_seq = wake_seq + 1, job_queued = TRUE
			WHERE tenant_id = $1 AND id = $2 AND NOT job_queued`, tenantID, endpointID)
		if err != nil {
			return fmt.Errorf("webhooks: wake an endpoint: %w", db.Translate(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
	} else if _, err := tx.ExecContext(ctx, `/* crmsync.Webhooks.enqueue */ UPDATE webhook_endpoints SET wake_seq = wake_seq + 1, job_queued = TRUE
		WHERE tenant_id = $1 AND id = $2`, tenantID, endpointID); err != nil {
		return fmt.Errorf("webhooks: wake an endpoint: %w", db.Translate(err))
	}
	if w.Queue == nil {
		return nil // the periodic sweep will
	}
	if err := w.Queue.InsertTx(ctx, tx, DeliverArgs{TenantID: tenantID, EndpointID: endpointID}, nil); err != nil {
		return fmt.Errorf("webhooks: %w", err)
	}
	return nil
}
