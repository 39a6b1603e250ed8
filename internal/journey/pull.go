package journey

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"avis/internal/db"
)

// PulledTouchpoint is one journey event as the pull API hands it to the
// tenant's CRM.
type PulledTouchpoint struct {
	Touchpoint
	// Seq is the event's place in the tenant's feed (sync_seq).
	Seq int64
	// ExternalID is the CRM's id of the contact (empty after erasure).
	ExternalID string
	// SourceKind says where the event came from (api, import, …).
	SourceKind string
	// CreatedAt is when avis recorded it.
	CreatedAt time.Time
}

// PullTouchpoints returns the tenant's journey events in the order they
// were recorded (sync_seq, then id), after the cursor (afterSeq, afterID),
// in one query.
func (s *Store) PullTouchpoints(ctx context.Context, tenantID string, afterSeq int64, afterID string, limit int) ([]PulledTouchpoint, error) {
	if limit < 1 {
		limit = 1
	}
	rows, err := s.db.R.QueryContext(ctx, `/* journey.Store.PullTouchpoints */ SELECT t.sync_seq, t.id, t.contact_id, t.step_id,
		COALESCE(st.key, ''), t.occurred_at, t.attributes, t.source_kind, t.created_at, COALESCE(c.external_id, '')
		FROM touchpoints t
		LEFT JOIN journey_steps st ON st.tenant_id = t.tenant_id AND st.id = t.step_id
		LEFT JOIN contacts c ON c.tenant_id = t.tenant_id AND c.id = t.contact_id
		WHERE t.tenant_id = $1 AND t.sync_seq >= $2 AND (t.sync_seq > $2 OR t.id > $3)
		ORDER BY t.sync_seq, t.id LIMIT $4`, tenantID, afterSeq, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("pull touchpoints: %w", db.Translate(err))
	}
	defer rows.Close()
	var out []PulledTouchpoint
	for rows.Next() {
		var p PulledTouchpoint
		var at, created int64
		var attrs string
		if err := rows.Scan(&p.Seq, &p.ID, &p.ContactID, &p.StepID, &p.StepKey, &at, &attrs, &p.SourceKind, &created, &p.ExternalID); err != nil {
			return nil, fmt.Errorf("pull touchpoints: %w", err)
		}
		p.OccurredAt, p.CreatedAt = db.Time(at), db.Time(created)
		_ = json.Unmarshal([]byte(attrs), &p.Attributes)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pull touchpoints: %w", err)
	}
	return out, nil
}
