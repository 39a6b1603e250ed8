package vault

import (
	"context"
	"crypto/rand"
	"fmt"

	"avis/internal/db"
)

// NewSubjects makes fresh data keys for people who have none yet (new
// contacts of an import) and stores them in q, many rows per statement (or
// copied in, when q is a db.BulkTx on PostgreSQL). q
// must be the caller's transaction, the same that stores the rows the keys
// seal; the keys are not cached, so a rollback leaves nothing behind. A
// subject that already has a key makes the call fail with db.ErrConflict.
func (v *Vault) NewSubjects(ctx context.Context, q db.Querier, tenantID string, subjectIDs []string) ([]*SubjectKey, error) {
	if q == nil {
		return nil, fmt.Errorf("vault: NewSubjects needs the caller's transaction")
	}
	t, err := v.tenant(ctx, q, tenantID, true)
	if err != nil {
		return nil, err
	}
	keys := make([]*SubjectKey, len(subjectIDs))
	wrapped := make([][]byte, len(subjectIDs))
	raw := make([]byte, 32*len(subjectIDs))
	rand.Read(raw)
	var buf [96]byte
	for i, id := range subjectIDs {
		if err := validRef(tenantID, id); err != nil {
			return nil, err
		}
		k := raw[32*i : 32*i+32]
		ad := append(append(append(buf[:0], tenantID...), 0), id...)
		wrapped[i] = seal(t.wrap, k, ad)
		if keys[i], err = newSubjectKey(tenantID, id, k); err != nil {
			return nil, err
		}
	}
	clear(raw)
	now := db.Now()
	ins := db.Into(v.d.Dialect, q, "vault.Vault.NewSubjects", "subject_keys", "tenant_id", "subject_id", "wrapped_key", "created_at")
	for i, id := range subjectIDs {
		if err := ins.Add(ctx, tenantID, id, wrapped[i], now); err != nil {
			return nil, fmt.Errorf("vault: create subject keys: %w", db.Translate(err))
		}
	}
	if err := ins.Close(ctx); err != nil {
		return nil, fmt.Errorf("vault: create subject keys: %w", db.Translate(err))
	}
	return keys, nil
}

// Subjects returns the existing keys of many people in one query through q
// (or d.R when q is nil). People without a key, or whose key was shredded,
// are absent from the map.
func (v *Vault) Subjects(ctx context.Context, q db.Querier, tenantID string, subjectIDs []string) (map[string]*SubjectKey, error) {
	out := make(map[string]*SubjectKey, len(subjectIDs))
	var missing []string
	for _, id := range subjectIDs {
		if k := v.cached(subjectRef{tenantID, id}); k != nil {
			out[id] = k
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	rq := q
	if rq == nil {
		rq = v.d.R
	}
	t, err := v.tenant(ctx, q, tenantID, false)
	if err != nil {
		return nil, err
	}
	d := v.d.Dialect
	err = db.EachIn(d, []any{tenantID}, missing, func(in string, args []any) error {
		rows, err := rq.QueryContext(ctx, "/* vault.Vault.Subjects */ SELECT subject_id, wrapped_key FROM subject_keys WHERE tenant_id = "+
			d.Arg(1)+" AND wrapped_key IS NOT NULL AND subject_id"+in, args...)
		if err != nil {
			return fmt.Errorf("vault: read subject keys: %w", db.Translate(err))
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var wrapped []byte
			if err := rows.Scan(&id, &wrapped); err != nil {
				return fmt.Errorf("vault: read subject keys: %w", err)
			}
			k, err := v.unwrapSubject(t, subjectRef{tenantID, id}, wrapped)
			if err != nil {
				return err
			}
			out[id] = k
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("vault: read subject keys: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
