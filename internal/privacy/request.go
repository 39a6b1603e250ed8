package privacy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"avis/internal/audit"
	"avis/internal/db"
)

// Kinds of data-subject request (GDPR 15 to 21).
const (
	RequestAccess        = "access"        // the person read their own page (Art. 15)
	RequestExport        = "export"        // the person downloaded their data (Art. 20)
	RequestRectification = "rectification" // the person corrected their name or email (Art. 16)
	RequestWithdrawal    = "withdrawal"    // the person withdrew a consent (Art. 7(3))
	RequestUnsubscribe   = "unsubscribe"   // the person objected to messages on a channel (Art. 21)
	RequestErasure       = "erasure"       // the person erased their data (Art. 17)
	RequestAccessLink    = "access_link"   // the person asked for a link to their page, for an address on file
)

// RequestKinds lists every kind, in display order.
var RequestKinds = []string{RequestAccess, RequestExport, RequestRectification, RequestWithdrawal, RequestUnsubscribe,
	RequestErasure, RequestAccessLink}

// Request channels: how a request reached the tenant.
const (
	// ChannelSelfService is the person's own page (/me/…).
	ChannelSelfService = "self-service"
	// ChannelEmail and ChannelPost are requests the tenant received and
	// records by hand.
	ChannelEmail = "email"
	ChannelPost  = "post"
	// ChannelAPI is the tenant's CRM, through the REST API (DELETE
	// /api/v1/subjects/{external_id}); the audit entry names the API key.
	ChannelAPI = "api"
)

// Request outcomes.
const (
	OutcomeDone     = "done"      // the request was carried out
	OutcomeNoChange = "no_change" // nothing needed changing (already done)
	OutcomeLinkSent = "link_sent" // an access link was sent to the address on file
	OutcomeRefused  = "refused"   // the request could not be honoured (a reason is kept elsewhere)
)

// ResponseTime is the deadline of a request: one month from receipt
// (GDPR 12(3)).
func ResponseTime(received time.Time) time.Time { return received.AddDate(0, 1, 0) }

// Request is one entry of a tenant's data-subject request log.
type Request struct {
	ID   string
	Kind string
	// SubjectID is the contact id: pseudonymous, and kept after erasure as
	// an id only.
	SubjectID   string
	Channel     string
	ReceivedAt  time.Time
	DueAt       time.Time
	CompletedAt time.Time // zero while open
	Outcome     string
	// Extension is why the deadline moved by two further months
	// (ExtendComplex or ExtendNumber); empty when it did not.
	Extension string
}

// Open reports whether the request is still waiting for an answer.
func (r Request) Open() bool { return r.CompletedAt.IsZero() }

// Overdue reports whether the request is open past its deadline at now.
func (r Request) Overdue(now time.Time) bool { return r.Open() && now.After(r.DueAt) }

// ErrInvalidRequest says a request lacks its kind, subject or channel.
var ErrInvalidRequest = errors.New("a request needs a known kind, a subject id and a channel")

// Requests is a tenant's data-subject request log. Each entry is also
// written to the audit log, in the same transaction.
type Requests struct {
	db    *db.DB
	audit *audit.Log
	now   func() time.Time
}

// NewRequests returns the request log stored in d.
func NewRequests(d *db.DB, a *audit.Log) *Requests {
	return &Requests{db: d, audit: a, now: time.Now}
}

func validKind(k string) bool {
	for _, v := range RequestKinds {
		if v == k {
			return true
		}
	}
	return false
}

// Record adds a request to the log through tx (nil: a transaction of its
// own), with its audit entry "request.<kind>" by actor. A request with an
// Outcome and no CompletedAt is completed at once (self-service requests
// are carried out as they arrive). It returns the stored request.
func (s *Requests) Record(ctx context.Context, tx *sql.Tx, actor audit.Actor, tenantID string, r Request) (Request, error) {
	if !validKind(r.Kind) || r.SubjectID == "" || r.Channel == "" {
		return Request{}, ErrInvalidRequest
	}
	if r.ID == "" {
		r.ID = db.NewID()
	}
	if r.ReceivedAt.IsZero() {
		r.ReceivedAt = s.now()
	}
	r.ReceivedAt = db.Time(db.Stamp(r.ReceivedAt))
	r.DueAt = ResponseTime(r.ReceivedAt)
	if r.Outcome != "" && r.CompletedAt.IsZero() {
		r.CompletedAt = r.ReceivedAt
	}
	r.CompletedAt = db.Time(db.Stamp(r.CompletedAt))
	write := func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `/* privacy.Requests.Record */ INSERT INTO subject_requests (tenant_id, id, kind, subject_id, channel,
			received_at, due_at, completed_at, outcome) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			tenantID, r.ID, r.Kind, r.SubjectID, r.Channel, db.Stamp(r.ReceivedAt), db.Stamp(r.DueAt), db.Stamp(r.CompletedAt), r.Outcome)
		if err != nil {
			return fmt.Errorf("record request: %w", db.Translate(err))
		}
		detail := map[string]string{"channel": r.Channel}
		if r.Outcome != "" {
			detail["outcome"] = r.Outcome
		}
		return s.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: actor, Action: "request." + r.Kind,
			ObjectKind: "request", ObjectID: r.ID, SubjectID: r.SubjectID, Detail: detail})
	}
	var err error
	if tx != nil {
		err = write(tx)
	} else {
		err = s.db.Tx(ctx, write)
	}
	if err != nil {
		return Request{}, err
	}
	return r, nil
}

// Complete closes an open request with its outcome, audited. A request
// already closed is left as it is (db.ErrNotFound when there is none).
func (s *Requests) Complete(ctx context.Context, actor audit.Actor, tenantID, id, outcome string) error {
	if outcome == "" {
		return ErrInvalidRequest
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var subject string
		var completed int64
		err := tx.QueryRowContext(ctx, `/* privacy.Requests.Complete */ SELECT subject_id, completed_at FROM subject_requests
			WHERE tenant_id = $1 AND id = $2`, tenantID, id).Scan(&subject, &completed)
		if err != nil {
			return fmt.Errorf("complete request: %w", db.Translate(err))
		}
		if completed != 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `/* privacy.Requests.Complete */ UPDATE subject_requests SET completed_at = $3, outcome = $4
			WHERE tenant_id = $1 AND id = $2`, tenantID, id, db.Stamp(s.now()), outcome); err != nil {
			return fmt.Errorf("complete request: %w", db.Translate(err))
		}
		return s.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: actor, Action: "request.complete",
			ObjectKind: "request", ObjectID: id, SubjectID: subject, Detail: map[string]string{"outcome": outcome}})
	})
}

// RequestFilter narrows List. Empty fields match everything.
type RequestFilter struct {
	Kind      string
	SubjectID string
	// OpenOnly keeps the requests not yet completed.
	OpenOnly bool
	// Before, when set, keeps the requests with a smaller id (the cursor of
	// the next page).
	Before string
	// Limit is 50 when 0 or less, at most 500.
	Limit int
}

// List returns the tenant's requests that match f, newest first.
func (s *Requests) List(ctx context.Context, tenantID string, f RequestFilter) ([]Request, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, 500)
	q := `/* privacy.Requests.List */ SELECT id, kind, subject_id, channel, received_at, due_at, completed_at, outcome, extension
		FROM subject_requests WHERE tenant_id = $1`
	args := []any{tenantID}
	add := func(cond string, v any) {
		args = append(args, v)
		q += " AND " + cond + " $" + strconv.Itoa(len(args))
	}
	if f.Kind != "" {
		add("kind =", f.Kind)
	}
	if f.SubjectID != "" {
		add("subject_id =", f.SubjectID)
	}
	if f.OpenOnly {
		add("completed_at =", 0)
	}
	if f.Before != "" {
		add("id <", f.Before)
	}
	args = append(args, f.Limit)
	q += " ORDER BY id DESC LIMIT $" + strconv.Itoa(len(args))
	rows, err := s.db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list requests: %w", err)
	}
	defer rows.Close()
	var out []Request
	for rows.Next() {
		var r Request
		var rec, due, done int64
		if err := rows.Scan(&r.ID, &r.Kind, &r.SubjectID, &r.Channel, &rec, &due, &done, &r.Outcome, &r.Extension); err != nil {
			return nil, fmt.Errorf("list requests: %w", err)
		}
		r.ReceivedAt, r.DueAt, r.CompletedAt = db.Time(rec), db.Time(due), db.Time(done)
		out = append(out, r)
	}
	return out, rows.Err()
}

// CountOverdue counts the tenant's open requests past their deadline at
// now.
func (s *Requests) CountOverdue(ctx context.Context, tenantID string, now time.Time) (int, error) {
	var n int
	err := s.db.R.QueryRowContext(ctx, `/* privacy.Requests.CountOverdue */ SELECT count(*) FROM subject_requests
		WHERE tenant_id = $1 AND completed_at = 0 AND due_at < $2`, tenantID, db.Stamp(now)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("overdue requests: %w", err)
	}
	return n, nil
}
