// Package feed holds a tenant's change feed: the order in which its
// responses, invitations and journey events changed (a sync_seq column on
// each of those rows), and the events that webhooks carry (feed_events).
//
// # Order without gaps
//
// Sequence numbers come from one counter row per tenant (Reserve), updated
// in the writing transaction. The row stays locked until that transaction
// commits, so a second writer of the same tenant gets its numbers only
// after the first committed: a tenant's rows ordered by sequence become
// visible as a prefix, in commit order, on SQLite and on PostgreSQL alike.
// A reader paging with "sync_seq > cursor ORDER BY sync_seq" therefore
// never skips a row that commits after it read a page. Rows written
// before the feed existed have sync_seq 0: readers order by (sync_seq, id)
// so that those ties page in a stable order too.
//
// Writers take their numbers as late as they can in a transaction, since
// the lock serialises the tenant's writers from that point to the commit.
package feed

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"avis/internal/db"
)

// Event types carried by webhooks.
const (
	ResponseCreated     = "response.created"
	ResponseCompleted   = "response.completed"
	InvitationBounced   = "invitation.bounced"
	ContactUnsubscribed = "contact.unsubscribed"
	SubjectErased       = "subject.erased"
)

// Types lists every event type, in the order the UI shows them.
var Types = []string{ResponseCreated, ResponseCompleted, InvitationBounced, ContactUnsubscribed, SubjectErased}

// Event is one change a tenant's CRM may want to hear about. It holds ids
// only, never personal data.
type Event struct {
	// Seq is the event's place in the tenant's feed (set by Emit).
	Seq int64
	// ID is the event's stable id (set by Emit when empty): the
	// webhook-id of every delivery of it.
	ID string
	// Type is one of the constants above.
	Type string
	// ObjectID is the response, invitation or contact the event is about.
	ObjectID string
	// ContactID is the contact concerned, when there is one.
	ContactID string
	// ExternalID is the CRM's id of that contact, when it has one; kept
	// so that subject.erased can name a person whose contact is gone.
	ExternalID string
	// At is when the change happened (set to now by Emit when zero).
	At time.Time
}

// Hook runs inside the transaction that emits events, so that what it
// writes (webhook jobs) exists exactly when the change does.
type Hook func(ctx context.Context, tx *sql.Tx, tenantID string, evs []Event) error

// Feed appends events and runs the hooks registered on it.
type Feed struct {
	db    *db.DB
	mu    sync.RWMutex
	hooks []Hook
}

// New returns the feed of the database d.
func New(d *db.DB) *Feed { return &Feed{db: d} }

// OnEmit registers h, run in the transaction of every later Emit.
func (f *Feed) OnEmit(h Hook) {
	f.mu.Lock()
	f.hooks = append(f.hooks, h)
	f.mu.Unlock()
}

// Reserve returns the first of n consecutive sequence numbers of the
// tenant's feed (n ≥ 1), taken in q's transaction. The tenant's counter
// stays locked until that transaction ends: call Reserve as late as the
// transaction allows.
func Reserve(ctx context.Context, q db.Querier, tenantID string, n int) (int64, error) {
	if n < 1 {
		return 0, fmt.Errorf("feed: reserve %d numbers: need at least one", n)
	}
	var last int64
	err := q.QueryRowContext(ctx, `/* feed.Reserve */ INSERT INTO feed_seqs (tenant_id, seq) VALUES ($1, $2)
		ON CONFLICT (tenant_id) DO UPDATE SET seq = feed_seqs.seq + excluded.seq RETURNING seq`, tenantID, int64(n)).Scan(&last)
	if err != nil {
		return 0, fmt.Errorf("feed: reserve: %w", db.Translate(err))
	}
	return last - int64(n) + 1, nil
}

// Emit appends evs to the tenant's feed in tx and runs the hooks. It sets
// each event's Seq, and its ID and At when empty.
func (f *Feed) Emit(ctx context.Context, tx *sql.Tx, tenantID string, evs ...Event) error {
	if len(evs) == 0 {
		return nil
	}
	first, err := Reserve(ctx, tx, tenantID, len(evs))
	if err != nil {
		return err
	}
	return f.EmitReserved(ctx, tx, tenantID, first, evs...)
}

// EmitReserved is Emit with the sequence numbers reserved already in tx:
// first is the first of len(evs) numbers that Reserve returned (a caller
// that takes numbers for its own rows too reserves them all at once).
func (f *Feed) EmitReserved(ctx context.Context, tx *sql.Tx, tenantID string, first int64, evs ...Event) error {
	if len(evs) == 0 {
		return nil
	}
	now := time.Now()
	for i := range evs {
		e := &evs[i]
		if e.Type == "" || e.ObjectID == "" {
			return fmt.Errorf("feed: emit: an event needs a type and an object id")
		}
		e.Seq = first + int64(i)
		if e.ID == "" {
			e.ID = "evt_" + db.NewID()
		}
		if e.At.IsZero() {
			e.At = now
		}
	}
	ins := db.NewInserter(f.db.Dialect, tx, `/* feed.Feed.Emit */ INSERT INTO feed_events
		(tenant_id, seq, id, type, object_id, contact_id, external_id, occurred_at) VALUES `, 8)
	for _, e := range evs {
		if err := ins.Add(ctx, tenantID, e.Seq, e.ID, e.Type, e.ObjectID, e.ContactID, e.ExternalID, db.Stamp(e.At)); err != nil {
			return fmt.Errorf("feed: emit %s: %w", e.Type, db.Translate(err))
		}
	}
	if err := ins.Close(ctx); err != nil {
		return fmt.Errorf("feed: emit: %w", db.Translate(err))
	}
	f.mu.RLock()
	hooks := f.hooks
	f.mu.RUnlock()
	for _, h := range hooks {
		if err := h(ctx, tx, tenantID, evs); err != nil {
			return fmt.Errorf("feed: emit hook: %w", err)
		}
	}
	return nil
}

// After returns up to limit events of the tenant's feed after sequence
// number after, oldest first.
func (f *Feed) After(ctx context.Context, tenantID string, after int64, limit int) ([]Event, error) {
	rows, err := f.db.R.QueryContext(ctx, `/* feed.Feed.After */ SELECT seq, id, type, object_id, contact_id, external_id, occurred_at
		FROM feed_events WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, tenantID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("feed: after: %w", db.Translate(err))
	}
	defer rows.Close()
	var evs []Event
	for rows.Next() {
		var e Event
		var at int64
		if err := rows.Scan(&e.Seq, &e.ID, &e.Type, &e.ObjectID, &e.ContactID, &e.ExternalID, &at); err != nil {
			return nil, fmt.Errorf("feed: after: %w", err)
		}
		e.At = db.Time(at)
		evs = append(evs, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("feed: after: %w", err)
	}
	return evs, nil
}
