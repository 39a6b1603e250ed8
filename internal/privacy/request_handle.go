package privacy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"avis/internal/audit"
	"avis/internal/db"
)

// Reasons for which GDPR 12(3) lets a controller take two further months
// to answer a request.
const (
	ExtendComplex = "complexity" // the request is complex
	ExtendNumber  = "number"     // the controller received many requests
)

// Errors of Extend.
var (
	ErrRequestClosed   = errors.New("this request is already answered")
	ErrAlreadyExtended = errors.New("the deadline of this request was already extended: the law allows it once, by two months")
	ErrExtendTooLate   = errors.New("the first month is over: a deadline can only be extended within one month of receiving the request, telling the person why")
	ErrExtendReason    = errors.New("choose why the answer needs more time: the request is complex, or there are many requests")
)

// ExtendedTime is the deadline of an extended request: three months from
// receipt (one, plus two further months, GDPR 12(3)).
func ExtendedTime(received time.Time) time.Time { return received.AddDate(0, 3, 0) }

// Extend moves the deadline of an open request by two further months for
// reason (ExtendComplex or ExtendNumber), audited. The law allows it once,
// and only while the first month runs (the person must be told within it,
// with the reason). It returns the request as it now stands.
func (s *Requests) Extend(ctx context.Context, actor audit.Actor, tenantID, id, reason string) (Request, error) {
	if reason != ExtendComplex && reason != ExtendNumber {
		return Request{}, ErrExtendReason
	}
	var r Request
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var rec, due, done int64
		err := tx.QueryRowContext(ctx, `/* privacy.Requests.Extend */ SELECT id, kind, subject_id, channel, received_at, due_at, completed_at,
			outcome, extension FROM subject_requests WHERE tenant_id = $1 AND id = $2`, tenantID, id).
			Scan(&r.ID, &r.Kind, &r.SubjectID, &r.Channel, &rec, &due, &done, &r.Outcome, &r.Extension)
		if err != nil {
			return db.Translate(err)
		}
		r.ReceivedAt, r.DueAt, r.CompletedAt = db.Time(rec), db.Time(due), db.Time(done)
		switch {
		case !r.Open():
			return ErrRequestClosed
		case r.Extension != "":
			return ErrAlreadyExtended
		case s.now().After(ResponseTime(r.ReceivedAt)):
			return ErrExtendTooLate
		}
		r.DueAt, r.Extension = ExtendedTime(r.ReceivedAt), reason
		if _, err := tx.ExecContext(ctx, `/* privacy.Requests.Extend */ UPDATE subject_requests SET due_at = $3, extension = $4
			WHERE tenant_id = $1 AND id = $2`, tenantID, id, db.Stamp(r.DueAt), reason); err != nil {
			return db.Translate(err)
		}
		return s.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: actor, Action: "request.extend",
			ObjectKind: "request", ObjectID: id, SubjectID: r.SubjectID, Detail: map[string]string{"reason": reason}})
	})
	if err != nil {
		return Request{}, fmt.Errorf("extend request: %w", err)
	}
	return r, nil
}

// Get returns one request of the tenant (db.ErrNotFound when none).
func (s *Requests) Get(ctx context.Context, tenantID, id string) (Request, error) {
	var r Request
	var rec, due, done int64
	err := s.db.R.QueryRowContext(ctx, `/* privacy.Requests.Get */ SELECT id, kind, subject_id, channel, received_at, due_at, completed_at,
		outcome, extension FROM subject_requests WHERE tenant_id = $1 AND id = $2`, tenantID, id).
		Scan(&r.ID, &r.Kind, &r.SubjectID, &r.Channel, &rec, &due, &done, &r.Outcome, &r.Extension)
	if err != nil {
		return Request{}, fmt.Errorf("request: %w", db.Translate(err))
	}
	r.ReceivedAt, r.DueAt, r.CompletedAt = db.Time(rec), db.Time(due), db.Time(done)
	return r, nil
}

// InFirstMonth reports whether now is within one month of the request's
// receipt: the time in which its deadline may still be extended.
func (r Request) InFirstMonth(now time.Time) bool { return !now.After(ResponseTime(r.ReceivedAt)) }
