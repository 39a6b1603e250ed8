package dispatch

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"avis/internal/contact"
	"avis/internal/db"
	"avis/internal/feed"
	"avis/internal/journey"
	"avis/internal/privacy"
)

// Schedule creates the invitations that touchpoints call for, in the
// caller's transaction: one per touchpoint and rule, however often it is
// called. The frequency cap, the suppression list and the contact's
// addresses are checked now (a few queries per batch of 500) and again
// when sending. Invitations due now start a sending run at once; later ones
// are found by the tick.
func (s *Store) Schedule(ctx context.Context, tx *sql.Tx, tenantID string, tps []journey.Touchpoint) ([]Scheduled, error) {
	if s.Queue == nil {
		return nil, errors.New("dispatch: no job queue")
	}
	out := make([]Scheduled, 0, len(tps))
	rules := map[string]*Rule{}
	lang := ""
	dueNow := false
	for start := 0; start < len(tps); start += scheduleBatch {
		part := tps[start:min(start+scheduleBatch, len(tps))]
		res, now, err := s.scheduleBatch(ctx, tx, tenantID, part, rules, &lang)
		if err != nil {
			return nil, err
		}
		for _, r := range res {
			if r.InvitationID != "" && r.Status == StatusScheduled && !r.DueAt.After(now.Add(tickEvery)) {
				dueNow = true
			}
		}
		out = append(out, res...)
	}
	if dueNow {
		if err := s.Queue.InsertTx(ctx, tx, RunArgs{TenantID: tenantID}, nil); err != nil {
			return nil, fmt.Errorf("schedule invitation: %w", err)
		}
	}
	return out, nil
}

const scheduleBatch = 500

type candidate struct {
	i    int
	tp   journey.Touchpoint
	rule *Rule
}

// scheduleBatch schedules up to scheduleBatch touchpoints.
func (s *Store) scheduleBatch(ctx context.Context, tx *sql.Tx, tenantID string, tps []journey.Touchpoint, rules map[string]*Rule, lang *string) ([]Scheduled, time.Time, error) {
	now := s.now()
	out := make([]Scheduled, len(tps))
	var cands []candidate
	var contactIDs []string
	for i, tp := range tps {
		out[i] = Scheduled{TouchpointID: tp.ID}
		r, ok := rules[tp.StepID]
		if !ok {
			rule, err := s.ruleForStep(ctx, tx, tenantID, tp.StepID)
			switch {
			case errors.Is(err, ErrNoRule):
			case err != nil:
				return nil, now, err
			default:
				r = &rule
			}
			rules[tp.StepID] = r
		}
		if r == nil || !r.Enabled || !sampled(tp.ID, r.SamplePercent) {
			continue
		}
		cands = append(cands, candidate{i, tp, r})
		contactIDs = append(contactIDs, tp.ContactID)
	}
	if len(cands) == 0 {
		return out, now, nil
	}
	if *lang == "" {
		t, err := s.accounts.TenantByID(ctx, tenantID)
		if err != nil {
			return nil, now, fmt.Errorf("schedule: %w", err)
		}
		*lang = t.DefaultLanguage
	}
	reach, err := s.contacts.ReachabilityMany(ctx, tx, tenantID, contactIDs)
	if err != nil {
		return nil, now, fmt.Errorf("schedule: %w", err)
	}
	var indexes [][]byte
	for _, r := range reach {
		if r.HasEmail {
			indexes = append(indexes, r.EmailIndex)
		}
		if r.HasPhone {
			indexes = append(indexes, r.PhoneIndex)
		}
	}
	suppressed, err := privacy.SuppressedMany(ctx, tx, s.db.Dialect, tenantID, indexes)
	if err != nil {
		return nil, now, err
	}
	// The frequency cap: asked recently, or already waiting for an
	// invitation (including one made earlier in this batch).
	asked := map[string]bool{}
	capDays := map[int]bool{}
	for _, c := range cands {
		if c.rule.CapDays > 0 {
			capDays[c.rule.CapDays] = true
		}
	}
	for days := range capDays {
		ids, err := s.askedSince(ctx, tx, tenantID, contactIDs, now.AddDate(0, 0, -days))
		if err != nil {
			return nil, now, err
		}
		for id := range ids {
			asked[fmt.Sprint(days, " ", id)] = true
		}
	}
	invs := make([]Invitation, 0, len(cands))
	idx := make([]int, 0, len(cands))
	for _, c := range cands {
		rc, ok := reach[c.tp.ContactID]
		if !ok {
			return nil, now, fmt.Errorf("schedule: contact %s: %w", c.tp.ContactID, db.ErrNotFound)
		}
		inv := Invitation{ID: db.NewID(), Status: StatusScheduled, Channel: c.rule.Channels[0], RuleID: c.rule.ID,
			SurveyID: c.rule.SurveyID, StepID: c.rule.StepID, ContactID: c.tp.ContactID, TouchpointID: c.tp.ID, Language: *lang}
		if slices.Contains(Languages, rc.Language) {
			inv.Language = rc.Language
		}
		inv.DueAt = c.tp.OccurredAt.Add(c.rule.Delay)
		if inv.DueAt.Before(now) {
			inv.DueAt = now
		}
		ch, reason := chooseChannel(c.rule, rc, suppressed)
		key := fmt.Sprint(c.rule.CapDays, " ", c.tp.ContactID)
		switch {
		case ch == "" && reason == ReasonNoAddress:
			inv.Status, inv.Reason = StatusFailed, reason
		case ch == "":
			inv.Status, inv.Reason = StatusSuppressed, reason
		case c.rule.CapDays > 0 && asked[key]:
			inv.Channel, inv.Status, inv.Reason = ch, StatusCapped, ReasonCapped
		default:
			inv.Channel = ch
			if c.rule.CapDays > 0 {
				asked[key] = true
			}
			w := c.rule.EmailWindow
			if ch == SMS {
				w = c.rule.SMSWindow
			}
			if next := w.Next(inv.DueAt, zone(rc.TimeZone)); !next.IsZero() {
				inv.DueAt = next
			}
		}
		invs = append(invs, inv)
		idx = append(idx, c.i)
	}
	inserted, err := s.insertInvitations(ctx, tx, tenantID, invs, now)
	if err != nil {
		return nil, now, err
	}
	var again []string
	for j, inv := range invs {
		if inserted[inv.TouchpointID+" "+inv.RuleID] {
			out[idx[j]] = Scheduled{TouchpointID: inv.TouchpointID, InvitationID: inv.ID, Status: inv.Status, Reason: inv.Reason, DueAt: inv.DueAt}
		} else {
			again = append(again, inv.TouchpointID)
		}
	}
	if len(again) > 0 {
		// Scheduled before: report what exists.
		existing, err := s.byTouchpoints(ctx, tx, tenantID, again)
		if err != nil {
			return nil, now, err
		}
		for j, inv := range invs {
			if e, ok := existing[inv.TouchpointID+" "+inv.RuleID]; ok {
				out[idx[j]] = Scheduled{TouchpointID: inv.TouchpointID, InvitationID: e.ID, Status: e.Status, Reason: e.Reason, DueAt: e.DueAt}
			}
		}
	}
	return out, now, nil
}

// chooseChannel returns the first channel of the rule for which the
// contact has an address that is not suppressed, or "" and why none. A
// contact whose processing is restricted has none.
func chooseChannel(r *Rule, reach contact.Reach, suppressed map[string]string) (string, string) {
	if reach.Restricted {
		return "", ReasonRestricted
	}
	reason := ReasonNoAddress
	for _, ch := range r.Channels {
		ix := reach.EmailIndex
		if ch == SMS {
			ix = reach.PhoneIndex
		}
		if len(ix) == 0 {
			continue
		}
		if why, ok := suppressed[string(ix)]; ok {
			reason = why
			continue
		}
		return ch, ""
	}
	return "", reason
}

// insertInvitations writes invitations, skipping those whose touchpoint and
// rule already have one; it returns the "touchpoint rule" pairs inserted.
func (s *Store) insertInvitations(ctx context.Context, tx *sql.Tx, tenantID string, invs []Invitation, now time.Time) (map[string]bool, error) {
	done := map[string]bool{}
	if len(invs) == 0 {
		return done, nil
	}
	seq, err := feed.Reserve(ctx, tx, tenantID, 1)
	if err != nil {
		return nil, fmt.Errorf("schedule invitations: %w", err)
	}
	const per = 200
	for start := 0; start < len(invs); start += per {
		end := min(start+per, len(invs))
		var sb strings.Builder
		args := make([]any, 0, 16*(end-start))
		sb.WriteString(`/* dispatch.Store.Schedule */ INSERT INTO invitations (tenant_id, id, rule_id, survey_id, step_id, contact_id,
			touchpoint_id, channel, status, reason, token_hash, language, due_at, created_at, updated_at, sync_seq) VALUES `)
		for i := start; i < end; i++ {
			inv := invs[i]
			token, err := s.token(ctx, tx, tenantID, inv.ID)
			if err != nil {
				return nil, err
			}
			if i > start {
				sb.WriteByte(',')
			}
			sb.WriteByte('(')
			for k, v := range []any{tenantID, inv.ID, inv.RuleID, inv.SurveyID, inv.StepID, inv.ContactID, inv.TouchpointID, inv.Channel,
				inv.Status, inv.Reason, TokenHash(token), inv.Language, db.Stamp(inv.DueAt), db.Stamp(now), db.Stamp(now), seq} {
				if k > 0 {
					sb.WriteByte(',')
				}
				args = append(args, v)
				sb.WriteString(s.db.Dialect.Arg(len(args)))
			}
			sb.WriteByte(')')
		}
		sb.WriteString(` ON CONFLICT (tenant_id, touchpoint_id, rule_id) DO NOTHING RETURNING touchpoint_id, rule_id`)
		rows, err := tx.QueryContext(ctx, sb.String(), args...)
		if err != nil {
			return nil, fmt.Errorf("schedule invitations: %w", db.Translate(err))
		}
		for rows.Next() {
			var tp, rule string
			if err := rows.Scan(&tp, &rule); err != nil {
				rows.Close()
				return nil, fmt.Errorf("schedule invitations: %w", err)
			}
			done[tp+" "+rule] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("schedule invitations: %w", db.Translate(err))
		}
	}
	return done, nil
}

// byTouchpoints reads the invitations of touchpoints, keyed by "touchpoint
// rule".
func (s *Store) byTouchpoints(ctx context.Context, q db.Querier, tenantID string, tps []string) (map[string]Invitation, error) {
	out := map[string]Invitation{}
	err := inChunks(len(tps), func(start, end int) error {
		in, args := db.InList(s.db.Dialect, []any{tenantID}, tps[start:end])
		rows, err := q.QueryContext(ctx, `/* dispatch.Store.byTouchpoints */ SELECT `+invitationCols+` FROM invitations
			WHERE tenant_id = `+s.db.Dialect.Arg(1)+` AND touchpoint_id IN `+in, args...)
		if err != nil {
			return fmt.Errorf("invitations: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			inv, err := scanInvitation(rows)
			if err != nil {
				return fmt.Errorf("invitations: %w", err)
			}
			out[inv.TouchpointID+" "+inv.RuleID] = inv
		}
		return rows.Err()
	})
	return out, err
}

// askedSince returns which of the contacts have an invitation sent since
// `since`, or one waiting to be sent.
func (s *Store) askedSince(ctx context.Context, q db.Querier, tenantID string, contactIDs []string, since time.Time) (map[string]bool, error) {
	out := map[string]bool{}
	err := inChunks(len(contactIDs), func(start, end int) error {
		in, args := db.InList(s.db.Dialect, []any{tenantID, db.Stamp(since)}, contactIDs[start:end])
		rows, err := q.QueryContext(ctx, `/* dispatch.Store.askedSince */ SELECT DISTINCT contact_id FROM invitations WHERE tenant_id = `+
			s.db.Dialect.Arg(1)+` AND (sent_at >= `+s.db.Dialect.Arg(2)+` OR status IN ('scheduled', 'sending')) AND contact_id IN `+in, args...)
		if err != nil {
			return fmt.Errorf("frequency cap: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return fmt.Errorf("frequency cap: %w", err)
			}
			out[id] = true
		}
		return rows.Err()
	})
	return out, err
}

// inChunks calls f for [start, end) windows of at most 500 of n items.
func inChunks(n int, f func(start, end int) error) error {
	for start := 0; start < n; start += 500 {
		if err := f(start, min(start+500, n)); err != nil {
			return err
		}
	}
	return nil
}
