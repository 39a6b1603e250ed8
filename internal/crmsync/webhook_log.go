package crmsync

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"avis/internal/audit"
	"avis/internal/db"
	"avis/internal/feed"
)

// Deliveries returns the endpoint's delivery log, newest first, before the
// cursor (a delivery id, "" for the newest), at most limit (1 to 200).
func (w *Webhooks) Deliveries(ctx context.Context, tenantID, endpointID, before string, limit int) ([]Delivery, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	if before == "" {
		before = "~"
	}
	rows, err := w.db.R.QueryContext(ctx, `/* crmsync.Webhooks.Deliveries */ SELECT `+deliveryCols+` FROM webhook_deliveries
		WHERE tenant_id = $1 AND endpoint_id = $2 AND id < $3 ORDER BY id DESC LIMIT $4`, tenantID, endpointID, before, limit)
	if err != nil {
		return nil, fmt.Errorf("delivery log: %w", db.Translate(err))
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("delivery log: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Delivery returns one delivery of the tenant's endpoint, or
// db.ErrNotFound.
func (w *Webhooks) Delivery(ctx context.Context, tenantID, endpointID, id string) (Delivery, error) {
	d, err := scanDelivery(w.db.R.QueryRowContext(ctx, `/* crmsync.Webhooks.Delivery */ SELECT `+deliveryCols+` FROM webhook_deliveries
		WHERE tenant_id = $1 AND endpoint_id = $2 AND id = $3`, tenantID, endpointID, id))
	if err != nil {
		return Delivery{}, fmt.Errorf("delivery: %w", err)
	}
	return d, nil
}

// requeue copies deliveries as new waiting ones (same event, same
// webhook-id) in tx.
func (w *Webhooks) requeue(ctx context.Context, tx *sql.Tx, tenantID string, ds []Delivery) error {
	now := db.Stamp(w.o.Now())
	for _, d := range ds {
		_, err := tx.ExecContext(ctx, `/* crmsync.Webhooks.requeue */ INSERT INTO webhook_deliveries (tenant_id, id, endpoint_id, ord,
			event_id, event_type, object_id, contact_id, external_id, occurred_at, status, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11, $11)`,
			tenantID, db.NewID(), d.EndpointID, d.Event.Seq, d.Event.ID, d.Event.Type, d.Event.ObjectID, d.Event.ContactID,
			d.Event.ExternalID, db.Stamp(d.Event.At), now)
		if err != nil {
			return fmt.Errorf("replay: %w", err)
		}
	}
	return nil
}

// Replay queues one delivery again: the same event, with the same
// webhook-id, built from the data as it is now. A test ping cannot be
// replayed (send another).
func (w *Webhooks) Replay(ctx context.Context, actor audit.Actor, tenantID, endpointID, deliveryID string) error {
	d, err := w.Delivery(ctx, tenantID, endpointID, deliveryID)
	if err != nil {
		return err
	}
	if d.Event.Type == TestEvent {
		return fieldErr("", msgReplayTest)
	}
	err = w.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := w.requeue(ctx, tx, tenantID, []Delivery{d}); err != nil {
			return err
		}
		if err := w.enqueue(ctx, tx, tenantID, endpointID, true); err != nil {
			return err
		}
		return w.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: actor, Action: "webhook.replay", ObjectKind: "webhook",
			ObjectID: endpointID, Detail: map[string]string{"delivery": deliveryID, "event": d.Event.ID}})
	})
	if err != nil {
		return fmt.Errorf("replay delivery: %w", err)
	}
	return nil
}

// ReplayRange queues again every event of the endpoint's log that happened
// in [from, to) and is not waiting already (at most MaxReplay), in feed
// order, and returns how many.
func (w *Webhooks) ReplayRange(ctx context.Context, actor audit.Actor, tenantID, endpointID string, from, to time.Time) (int, error) {
	if !from.Before(to) {
		return 0, fieldErr("", msgReplayBackward)
	}
	if _, err := w.Get(ctx, tenantID, endpointID); err != nil {
		return 0, err
	}
	rows, err := w.db.R.QueryContext(ctx, `/* crmsync.Webhooks.ReplayRange */ SELECT `+deliveryCols+` FROM webhook_deliveries d
		WHERE tenant_id = $1 AND endpoint_id = $2 AND occurred_at >= $3 AND occurred_at < $4 AND event_type <> $5
		AND id = (SELECT MAX(id) FROM webhook_deliveries x WHERE x.tenant_id = d.tenant_id AND x.endpoint_id = d.endpoint_id AND x.event_id = d.event_id)
		AND status NOT IN ('pending', 'retrying')
		ORDER BY ord, id LIMIT $6`, tenantID, endpointID, db.Stamp(from), db.Stamp(to), TestEvent, MaxReplay)
	if err != nil {
		return 0, fmt.Errorf("replay a time range: %w", db.Translate(err))
	}
	var ds []Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			rows.Close()
			return 0, fmt.Errorf("replay a time range: %w", err)
		}
		ds = append(ds, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("replay a time range: %w", err)
	}
	if len(ds) == 0 {
		return 0, nil
	}
	err = w.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := w.requeue(ctx, tx, tenantID, ds); err != nil {
			return err
		}
		if err := w.enqueue(ctx, tx, tenantID, endpointID, true); err != nil {
			return err
		}
		return w.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: actor, Action: "webhook.replay", ObjectKind: "webhook",
			ObjectID: endpointID, Detail: map[string]string{"from": from.UTC().Format(time.RFC3339), "to": to.UTC().Format(time.RFC3339),
				"count": strconv.Itoa(len(ds))}})
	})
	if err != nil {
		return 0, fmt.Errorf("replay a time range: %w", err)
	}
	return len(ds), nil
}

// TestSend sends a webhook.test ping to the endpoint at once, whether it
// is enabled or not, records it in the delivery log and returns it. The
// ping is not retried.
func (w *Webhooks) TestSend(ctx context.Context, actor audit.Actor, tenantID, endpointID string) (Delivery, error) {
	ep, err := w.Get(ctx, tenantID, endpointID)
	if err != nil {
		return Delivery{}, err
	}
	secrets, err := w.secrets(ctx, tenantID, endpointID)
	if err != nil {
		return Delivery{}, err
	}
	now := w.o.Now()
	ev := feed.Event{ID: "evt_" + db.NewID(), Type: TestEvent, ObjectID: endpointID, At: now}
	body, err := marshalPayload(Payload{Type: TestEvent, Timestamp: now.UTC(), Data: map[string]string{
		"endpoint_id": endpointID, "message": "This is a test from avis: the endpoint is reachable and the signature can be checked."}})
	if err != nil {
		return Delivery{}, err
	}
	o := w.post(ctx, ep, ev.ID, body, secrets)
	d := Delivery{ID: db.NewID(), EndpointID: endpointID, Event: ev, Status: StatusDelivered, Attempts: 1, HTTPStatus: o.status,
		Duration: o.duration, Error: o.problem, CreatedAt: now, UpdatedAt: now}
	if !o.ok() {
		d.Status = StatusFailed
	}
	err = w.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `/* crmsync.Webhooks.TestSend */ INSERT INTO webhook_deliveries (tenant_id, id, endpoint_id, ord,
			event_id, event_type, object_id, occurred_at, status, attempts, http_status, duration_ms, error, created_at, updated_at)
			VALUES ($1, $2, $3, 0, $4, $5, $6, $7, $8, 1, $9, $10, $11, $7, $7)`,
			tenantID, d.ID, endpointID, ev.ID, ev.Type, ev.ObjectID, db.Stamp(now), d.Status, o.status, o.duration.Milliseconds(), o.problem)
		if err != nil {
			return err
		}
		return w.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: actor, Action: "webhook.test", ObjectKind: "webhook",
			ObjectID: endpointID, Detail: map[string]string{"status": d.Status, "http_status": strconv.Itoa(o.status)}})
	})
	if err != nil {
		return Delivery{}, fmt.Errorf("test webhook: %w", db.Translate(err))
	}
	return d, nil
}

// Recipient is a webhook endpoint that was sent data about a person, as
// the person's access request lists it (GDPR 15(1)(c)).
type Recipient struct {
	EndpointID string
	// URL is the endpoint's address now ("" when it was deleted since).
	URL string
	// Events are the event types delivered about the person.
	Events []string
	// First and Last are the first and the last delivery.
	First, Last time.Time
}

// RecipientsOf lists the endpoints that were sent data about a contact
// (delivered, within the 30 days the log keeps), oldest first.
func (w *Webhooks) RecipientsOf(ctx context.Context, tenantID, contactID string) ([]Recipient, error) {
	rows, err := w.db.R.QueryContext(ctx, `/* crmsync.Webhooks.RecipientsOf */ SELECT d.endpoint_id, COALESCE(e.url, ''), d.event_type,
		MIN(d.updated_at), MAX(d.updated_at) FROM webhook_deliveries d
		LEFT JOIN webhook_endpoints e ON e.tenant_id = d.tenant_id AND e.id = d.endpoint_id
		WHERE d.tenant_id = $1 AND d.contact_id = $2 AND d.status = 'delivered'
		GROUP BY d.endpoint_id, e.url, d.event_type ORDER BY MIN(d.updated_at), d.endpoint_id, d.event_type`, tenantID, contactID)
	if err != nil {
		return nil, fmt.Errorf("recipients of a person: %w", db.Translate(err))
	}
	defer rows.Close()
	var out []Recipient
	for rows.Next() {
		var id, u, typ string
		var first, last int64
		if err := rows.Scan(&id, &u, &typ, &first, &last); err != nil {
			return nil, fmt.Errorf("recipients of a person: %w", err)
		}
		i := len(out) - 1
		for ; i >= 0 && out[i].EndpointID != id; i-- {
		}
		if i < 0 {
			out = append(out, Recipient{EndpointID: id, URL: u, First: db.Time(first), Last: db.Time(last)})
			i = len(out) - 1
		}
		r := &out[i]
		r.Events = append(r.Events, typ)
		if t := db.Time(first); t.Before(r.First) {
			r.First = t
		}
		if t := db.Time(last); t.After(r.Last) {
			r.Last = t
		}
	}
	return out, rows.Err()
}
