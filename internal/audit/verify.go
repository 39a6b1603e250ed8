package audit

import (
	"bytes"
	"context"
	"fmt"

	"avis/internal/db"
)

// verifyPage is how many entries Verify reads per query, so that a long
// chain is never held in memory nor read in one long statement.
const verifyPage = 1000

// BreakError says a tenant's chain does not hold at entry Seq: its stored
// hash is not the hash of its content, its prev_hash is not the hash of the
// entry before it, or its seq does not follow the one before it (an entry was
// deleted or inserted).
type BreakError struct {
	TenantID string
	Seq      int64
	Reason   string
}

// Error implements error.
func (e *BreakError) Error() string {
	return fmt.Sprintf("audit chain of tenant %q broken at seq %d: %s", e.TenantID, e.Seq, e.Reason)
}

// Verify walks one tenant's chain in seq order, recomputing every hash; it
// returns nil when intact, or a *BreakError naming the tenant and the seq of
// the first entry whose stored hash, prev_hash link or seq continuity does
// not hold. When an entry is deleted, the break is at the entry that follows
// it. Deleting the newest entries leaves a shorter chain that still holds:
// compare the head (List with Limit 1) with one kept elsewhere to see that.
func (l *Log) Verify(ctx context.Context, tenantID string) error {
	_, brk, err := l.verify(ctx, tenantID)
	if err != nil {
		return err
	}
	if brk != nil {
		return brk
	}
	return nil
}

// VerifyAll verifies every tenant's chain (tenant "" included), returns how
// many entries were checked and every break found, one at most per tenant (the
// first). A tenant's walk stops at its first break.
func (l *Log) VerifyAll(ctx context.Context) (checked int64, breaks []*BreakError, err error) {
	rows, err := l.db.R.QueryContext(ctx, `/* audit.Log.VerifyAll */ SELECT DISTINCT tenant_id FROM audit_log ORDER BY tenant_id`)
	if err != nil {
		return 0, nil, fmt.Errorf("audit: list chains: %w", db.Translate(err))
	}
	var tenants []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, nil, fmt.Errorf("audit: list chains: %w", db.Translate(err))
		}
		tenants = append(tenants, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, nil, fmt.Errorf("audit: list chains: %w", db.Translate(err))
	}
	for _, t := range tenants {
		n, brk, err := l.verify(ctx, t)
		checked += n
		if err != nil {
			return checked, breaks, err
		}
		if brk != nil {
			breaks = append(breaks, brk)
		}
	}
	return checked, breaks, nil
}

// verify walks the chain of tenantID and returns how many entries it
// checked and the first break, if any.
func (l *Log) verify(ctx context.Context, tenantID string) (int64, *BreakError, error) {
	var checked int64
	wantSeq, wantPrev := int64(1), zeroHash()
	after := int64(-1 << 63)
	for {
		page, err := l.readPage(ctx, tenantID, after)
		if err != nil {
			return checked, nil, fmt.Errorf("audit: verify tenant %q: %w", tenantID, err)
		}
		for i := range page {
			r := &page[i]
			checked++
			if reason := checkRow(r, wantSeq, wantPrev); reason != "" {
				return checked, &BreakError{TenantID: tenantID, Seq: r.seq, Reason: reason}, nil
			}
			wantSeq, wantPrev = r.seq+1, r.hash
		}
		if len(page) < verifyPage {
			return checked, nil, nil
		}
		after = page[len(page)-1].seq
	}
}

// checkRow returns why r does not follow an entry whose seq was wantSeq-1
// and whose hash was wantPrev, or "" when it does.
func checkRow(r *row, wantSeq int64, wantPrev []byte) string {
	switch {
	case r.seq != wantSeq && wantSeq == 1:
		return fmt.Sprintf("the chain starts at seq %d, not 1 (an entry is missing)", r.seq)
	case r.seq != wantSeq:
		return fmt.Sprintf("seq %d follows seq %d (an entry is missing or was inserted)", r.seq, wantSeq-1)
	case !bytes.Equal(r.prevHash, wantPrev):
		if wantSeq == 1 {
			return "prev_hash of the first entry is not zero"
		}
		return fmt.Sprintf("prev_hash is not the hash of seq %d", wantSeq-1)
	case !bytes.Equal(r.hash, hashOf(r)):
		return "stored hash does not match the entry's content"
	}
	return ""
}

// readPage reads up to verifyPage entries of a tenant with seq > after, in
// seq order.
func (l *Log) readPage(ctx context.Context, tenantID string, after int64) ([]row, error) {
	rows, err := l.db.R.QueryContext(ctx, `/* audit.Log.Verify */ SELECT
		seq, at, actor_kind, actor_id, action, object_kind, object_id, subject_id, detail, prev_hash, hash
		FROM audit_log WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, tenantID, after, verifyPage)
	if err != nil {
		return nil, db.Translate(err)
	}
	defer rows.Close()
	page := make([]row, 0, verifyPage)
	for rows.Next() {
		r := row{tenantID: tenantID}
		if err := rows.Scan(&r.seq, &r.at, &r.actorKind, &r.actorID, &r.action, &r.objectKind,
			&r.objectID, &r.subjectID, &r.detail, &r.prevHash, &r.hash); err != nil {
			return nil, db.Translate(err)
		}
		page = append(page, r)
	}
	if err := rows.Err(); err != nil {
		return nil, db.Translate(err)
	}
	return page, nil
}
