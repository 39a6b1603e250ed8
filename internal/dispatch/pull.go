package dispatch

import (
	"context"
	"fmt"

	"avis/internal/db"
)

// PulledInvitation is one invitation as the pull API hands it to the
// tenant's CRM: its status and times, ids instead of people.
type PulledInvitation struct {
	Invitation
	// Seq is the invitation's place in the tenant's feed (sync_seq).
	Seq int64
	// ExternalID is the CRM's id of the contact (empty after erasure).
	ExternalID string
	// StepKey is the key of the journey step.
	StepKey string
}

// PullInvitations returns the tenant's invitations in the order their
// status last changed (sync_seq, then id), after the cursor (afterSeq,
// afterID), in one query. An invitation whose status changes again moves
// to the end and is read again. With id set it reads that invitation
// only.
func (s *Store) PullInvitations(ctx context.Context, tenantID string, afterSeq int64, afterID, id string, limit int) ([]PulledInvitation, error) {
	if limit < 1 {
		limit = 1
	}
	cond, args := `i.sync_seq >= $2 AND (i.sync_seq > $2 OR i.id > $3)`, []any{tenantID, afterSeq, afterID, limit}
	if id != "" {
		cond, args = `i.id = $2 AND $3 = ''`, []any{tenantID, id, "", 1}
	}
	rows, err := s.db.R.QueryContext(ctx, `/* dispatch.Store.PullInvitations */ SELECT i.sync_seq, i.id, i.rule_id, i.survey_id,
		i.step_id, i.contact_id, i.touchpoint_id, i.channel, i.status, i.reason, i.language, i.due_at, i.sent_at, i.delivered_at,
		i.answered_at, i.expires_at, i.reminders_sent, i.attempts, i.segments, i.provider_id, i.created_at, i.updated_at,
		COALESCE(c.external_id, ''), COALESCE(st.key, '')
		FROM invitations i
		LEFT JOIN contacts c ON c.tenant_id = i.tenant_id AND c.id = i.contact_id
		LEFT JOIN journey_steps st ON st.tenant_id = i.tenant_id AND st.id = i.step_id
		WHERE i.tenant_id = $1 AND `+cond+`
		ORDER BY i.sync_seq, i.id LIMIT $4`, args...)
	if err != nil {
		return nil, fmt.Errorf("pull invitations: %w", db.Translate(err))
	}
	defer rows.Close()
	var out []PulledInvitation
	for rows.Next() {
		var p PulledInvitation
		var ext, step string
		inv, err := scanInvitation(scanAround{rows, []any{&p.Seq}, []any{&ext, &step}})
		if err != nil {
			return nil, fmt.Errorf("pull invitations: %w", err)
		}
		p.Invitation, p.ExternalID, p.StepKey = inv, ext, step
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pull invitations: %w", err)
	}
	return out, nil
}

// scanAround scans columns before and after those scanInvitation reads.
type scanAround struct {
	row        interface{ Scan(...any) error }
	head, tail []any
}

func (s scanAround) Scan(dst ...any) error {
	all := append(append(append([]any{}, s.head...), dst...), s.tail...)
	return s.row.Scan(all...)
}
