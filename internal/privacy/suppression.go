package privacy

import (
	"context"
	"errors"
	"fmt"

	"avis/internal/db"
)

// Suppression kinds: which address a suppression stops.
const (
	SuppressEmail = "email"
	SuppressPhone = "phone"
)

// Suppression reasons.
const (
	ReasonUnsubscribed = "unsubscribed" // the person used an unsubscribe link or header
	ReasonStop         = "stop"         // the person answered STOP to an SMS
	ReasonHardBounce   = "hard_bounce"  // the address does not exist
	ReasonComplaint    = "complaint"    // the person reported the message as spam
	ReasonObjection    = "objection"    // the person objected through the tenant (GDPR 21)
)

// ErrInvalidSuppression says a suppression lacks its blind index or kind.
var ErrInvalidSuppression = errors.New("a suppression needs a blind index and a kind (email or phone)")

// Suppress puts a blind index on the tenant's suppression list, through q (a
// transaction, or the writer). The list keeps only the blind index, so it
// survives the person's erasure. Suppressing twice keeps the first entry.
func Suppress(ctx context.Context, q db.Querier, tenantID string, index []byte, kind, reason string) error {
	if len(index) == 0 || (kind != SuppressEmail && kind != SuppressPhone) {
		return ErrInvalidSuppression
	}
	_, err := q.ExecContext(ctx, `/* privacy.Suppress */ INSERT INTO suppressions (tenant_id, value_bidx, kind, reason, created_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, value_bidx) DO NOTHING`, tenantID, index, kind, reason, db.Now())
	if err != nil {
		return fmt.Errorf("suppress: %w", db.Translate(err))
	}
	return nil
}

// Suppressed reports whether any of the blind indexes is on the tenant's
// suppression list, and the reason of the first found. Nil indexes are
// ignored.
func Suppressed(ctx context.Context, q db.Querier, tenantID string, indexes ...[]byte) (bool, string, error) {
	for _, ix := range indexes {
		if len(ix) == 0 {
			continue
		}
		var reason string
		err := q.QueryRowContext(ctx, `/* privacy.Suppressed */ SELECT reason FROM suppressions WHERE tenant_id = $1 AND value_bidx = $2`,
			tenantID, ix).Scan(&reason)
		if err == nil {
			return true, reason, nil
		}
		if err = db.Translate(err); !errors.Is(err, db.ErrNotFound) {
			return false, "", fmt.Errorf("suppression list: %w", err)
		}
	}
	return false, "", nil
}

// Unsuppress removes a blind index from the list (an administrator's
// correction, e.g. a bounce that was temporary after all). It reports
// whether there was one.
func Unsuppress(ctx context.Context, q db.Querier, tenantID string, index []byte) (bool, error) {
	res, err := q.ExecContext(ctx, `/* privacy.Unsuppress */ DELETE FROM suppressions WHERE tenant_id = $1 AND value_bidx = $2`, tenantID, index)
	if err != nil {
		return false, fmt.Errorf("unsuppress: %w", db.Translate(err))
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// SuppressedMany returns, for those of the blind indexes that are on the
// tenant's suppression list, the reason, keyed by string(index).
func SuppressedMany(ctx context.Context, q db.Querier, d db.Dialect, tenantID string, indexes [][]byte) (map[string]string, error) {
	out := map[string]string{}
	const per = 500
	for start := 0; start < len(indexes); start += per {
		end := min(start+per, len(indexes))
		in, args := db.InList(d, []any{tenantID}, indexes[start:end])
		rows, err := q.QueryContext(ctx, `/* privacy.SuppressedMany */ SELECT value_bidx, reason FROM suppressions WHERE tenant_id = `+d.Arg(1)+
			` AND value_bidx IN `+in, args...)
		if err != nil {
			return nil, fmt.Errorf("suppression list: %w", err)
		}
		for rows.Next() {
			var ix []byte
			var reason string
			if err := rows.Scan(&ix, &reason); err != nil {
				rows.Close()
				return nil, fmt.Errorf("suppression list: %w", err)
			}
			out[string(ix)] = reason
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("suppression list: %w", err)
		}
	}
	return out, nil
}
