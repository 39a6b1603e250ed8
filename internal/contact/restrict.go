package contact

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"avis/internal/audit"
	"avis/internal/db"
)

// Restrict sets or lifts the restriction of processing of a contact (GDPR
// Art. 18): while restricted, the contact's data is only stored, never used
// to invite them. Imports leave it as it is. The change is audited.
func (s *Store) Restrict(ctx context.Context, actor audit.Actor, tenantID, id string, on bool) error {
	var at int64
	action := "contact.unrestrict"
	if on {
		at, action = db.Stamp(time.Now()), "contact.restrict"
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `/* contact.Store.Restrict */ UPDATE contacts SET restricted_at = $1
			WHERE tenant_id = $2 AND id = $3`, at, tenantID, id)
		if err != nil {
			return fmt.Errorf("restrict contact: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return db.ErrNotFound
		}
		return s.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: actor, Action: action,
			ObjectKind: "contact", ObjectID: id, SubjectID: id})
	})
}

// Restriction tells since when a contact's processing is restricted (zero
// when it is not).
func (s *Store) Restriction(ctx context.Context, tenantID, id string) (time.Time, error) {
	var at int64
	err := s.db.R.QueryRowContext(ctx, `/* contact.Store.Restriction */ SELECT restricted_at FROM contacts
		WHERE tenant_id = $1 AND id = $2`, tenantID, id).Scan(&at)
	if err != nil {
		return time.Time{}, fmt.Errorf("contact restriction: %w", db.Translate(err))
	}
	return db.Time(at), nil
}
