package dispatch

import (
	"context"
	"fmt"
	"time"

	"avis/internal/db"
	"avis/internal/feed"
)

// MarkAnswered records, through q (the transaction that completes the
// response), that the person answered the invitation: its status becomes
// answered, so that no reminder goes out after (a reminder is sent only
// while the invitation is sent or delivered) and the expiry job leaves it
// alone. It reports whether the invitation changed: false when it was
// already answered, or expired, or never sent.
func MarkAnswered(ctx context.Context, q db.Querier, tenantID, invitationID string, at time.Time) (bool, error) {
	seq, err := feed.Reserve(ctx, q, tenantID, 1)
	if err != nil {
		return false, fmt.Errorf("invitation answered: %w", err)
	}
	res, err := q.ExecContext(ctx, `/* dispatch.MarkAnswered */ UPDATE invitations SET status = 'answered', answered_at = $3, updated_at = $3, sync_seq = $4
		WHERE tenant_id = $1 AND id = $2 AND status IN ('sent', 'delivered', 'sending', 'bounced')`, tenantID, invitationID, db.Stamp(at), seq)
	if err != nil {
		return false, fmt.Errorf("invitation answered: %w", db.Translate(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("invitation answered: %w", err)
	}
	return n == 1, nil
}

// Answerable reports whether the person an invitation went to may answer
// its survey now: the link left (sent, delivered, or bounced after
// arriving somewhere) and has not expired. An answered invitation is not
// answerable again.
func Answerable(inv Invitation, now time.Time) bool {
	switch inv.Status {
	case StatusSent, StatusDelivered, StatusSending, StatusBounced:
		return inv.ExpiresAt.IsZero() || now.Before(inv.ExpiresAt)
	}
	return false
}

// Expired reports whether an invitation's link expired before it was
// answered.
func Expired(inv Invitation, now time.Time) bool {
	if inv.Status == StatusExpired {
		return true
	}
	return inv.Status != StatusAnswered && !inv.ExpiresAt.IsZero() && !now.Before(inv.ExpiresAt)
}
