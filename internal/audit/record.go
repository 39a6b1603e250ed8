package audit

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"

	"avis/internal/db"
)

// Record appends an entry to its tenant's chain. q: the caller's transaction
// (so the entry commits or rolls back with the change it describes), or nil
// to write in a transaction of its own. A *sql.DB given as q is treated as
// nil, since appending takes two statements that must not interleave with
// another append.
//
// Record returns ErrPersonalData, wrapped with the name of the offending
// field, when a field looks like personal data; nothing is written then.
//
// On PostgreSQL the append takes a transaction-scoped advisory lock on the
// tenant's chain, so several avis processes keep each chain linear; inside a
// caller's transaction the lock is held until that transaction ends. On
// SQLite the single writer connection serialises appends.
func (l *Log) Record(ctx context.Context, q db.Querier, e Entry) error {
	if err := checkEntry(&e); err != nil {
		return err
	}
	detail, err := encodeDetail(e.Detail)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	r := &row{
		tenantID:   e.TenantID,
		actorKind:  e.Actor.Kind,
		actorID:    e.Actor.ID,
		action:     e.Action,
		objectKind: e.ObjectKind,
		objectID:   e.ObjectID,
		subjectID:  e.SubjectID,
		detail:     detail,
	}
	if _, ok := q.(*sql.DB); ok {
		q = nil
	}
	if q == nil {
		err = l.db.Tx(ctx, func(tx *sql.Tx) error { return l.appendRow(ctx, tx, r) })
	} else {
		err = l.appendRow(ctx, q, r)
	}
	if err != nil {
		return fmt.Errorf("audit: record %s: %w", e.Action, err)
	}
	return nil
}

// appendRow links r to the last entry of its tenant and inserts it, in q,
// which must be a transaction.
func (l *Log) appendRow(ctx context.Context, q db.Querier, r *row) error {
	if l.db.Dialect == db.Postgres {
		if _, err := q.ExecContext(ctx, `/* audit.Log.Record */ SELECT pg_advisory_xact_lock($1)`, advisoryKey(r.tenantID)); err != nil {
			return fmt.Errorf("lock chain: %w", db.Translate(err))
		}
	}
	var lastSeq int64
	var lastHash []byte
	err := q.QueryRowContext(ctx, `/* audit.Log.Record */ SELECT seq, hash FROM audit_log
		WHERE tenant_id = $1 ORDER BY seq DESC LIMIT 1`, r.tenantID).Scan(&lastSeq, &lastHash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		r.seq, r.prevHash = 1, zeroHash()
	case err != nil:
		return fmt.Errorf("read chain head: %w", db.Translate(err))
	default:
		r.seq, r.prevHash = lastSeq+1, bytes.Clone(lastHash)
	}
	r.at = db.Now()
	r.hash = hashOf(r)
	_, err = q.ExecContext(ctx, `/* audit.Log.Record */ INSERT INTO audit_log
		(tenant_id, seq, at, actor_kind, actor_id, action, object_kind, object_id, subject_id, detail, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		r.tenantID, r.seq, r.at, r.actorKind, r.actorID, r.action, r.objectKind, r.objectID, r.subjectID, r.detail, r.prevHash, r.hash)
	if err != nil {
		return fmt.Errorf("insert entry: %w", db.Translate(err))
	}
	return nil
}
