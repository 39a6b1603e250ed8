package audit

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"avis/internal/db"
)

// Limits of Filter.Limit.
const (
	// DefaultLimit is how many records List returns when Filter.Limit is 0
	// or less.
	DefaultLimit = 50
	// MaxLimit is the most records List returns at once.
	MaxLimit = 500
)

// Filter narrows List. Empty fields match everything.
type Filter struct {
	// Action keeps the entries of this action.
	Action string
	// ActorID keeps the entries done by this actor id (of any kind).
	ActorID string
	// SubjectID keeps the entries concerning this person.
	SubjectID string
	// ObjectID keeps the entries about this object.
	ObjectID string
	// BeforeSeq, when above 0, keeps the entries with a smaller seq: pass
	// the Seq of the last record of a page to get the next page.
	BeforeSeq int64
	// Limit is how many records to return: DefaultLimit when 0 or less, at
	// most MaxLimit.
	Limit int
}

// List returns a tenant's records that match f, newest (highest seq) first.
func (l *Log) List(ctx context.Context, tenantID string, f Filter) ([]Record, error) {
	var where strings.Builder
	args := []any{tenantID}
	where.WriteString("tenant_id = $1")
	add := func(cond string, v any) {
		args = append(args, v)
		where.WriteString(" AND " + cond + " $" + strconv.Itoa(len(args)))
	}
	if f.Action != "" {
		add("action =", f.Action)
	}
	if f.ActorID != "" {
		add("actor_id =", f.ActorID)
	}
	if f.SubjectID != "" {
		add("subject_id =", f.SubjectID)
	}
	if f.ObjectID != "" {
		add("object_id =", f.ObjectID)
	}
	if f.BeforeSeq > 0 {
		add("seq <", f.BeforeSeq)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	args = append(args, limit)
	query := `/* audit.Log.List */ SELECT
		seq, at, actor_kind, actor_id, action, object_kind, object_id, subject_id, detail, prev_hash, hash
		FROM audit_log WHERE ` + where.String() + ` ORDER BY seq DESC LIMIT $` + strconv.Itoa(len(args))
	rows, err := l.db.R.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("audit: list: %w", db.Translate(err))
	}
	defer rows.Close()
	out := make([]Record, 0, min(limit, 64))
	for rows.Next() {
		var rec Record
		var at int64
		var detail string
		rec.TenantID = tenantID
		if err := rows.Scan(&rec.Seq, &at, &rec.Actor.Kind, &rec.Actor.ID, &rec.Action, &rec.ObjectKind,
			&rec.ObjectID, &rec.SubjectID, &detail, &rec.PrevHash, &rec.Hash); err != nil {
			return nil, fmt.Errorf("audit: list: %w", db.Translate(err))
		}
		rec.At = db.Time(at)
		if rec.Detail, err = decodeDetail(detail); err != nil {
			return nil, fmt.Errorf("audit: list seq %d: %w", rec.Seq, err)
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: list: %w", db.Translate(err))
	}
	return out, nil
}
