package dispatch

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"avis/internal/channel/email"
	"avis/internal/channel/sms"
	"avis/internal/contact"
	"avis/internal/db"
	"avis/internal/feed"
	"avis/internal/privacy"
	"avis/internal/vault"
)

// SendWorker sends invitations and reminders.
type SendWorker struct {
	river.WorkerDefaults[SendArgs]
	Store *Store
}

// Timeout implements river.Worker.
func (w *SendWorker) Timeout(*river.Job[SendArgs]) time.Duration { return 2 * time.Minute }

// NextRetry implements river.Worker: 1, 2, 4 … minutes, at most 12 hours
// apart, so 14 attempts span about three days.
func (w *SendWorker) NextRetry(job *river.Job[SendArgs]) time.Time {
	d := time.Minute << min(job.Attempt-1, 10)
	return time.Now().Add(min(d, 12*time.Hour))
}

// Work implements river.Worker.
func (w *SendWorker) Work(ctx context.Context, job *river.Job[SendArgs]) error {
	err := w.Store.send(ctx, job.Args, job.Attempt >= job.MaxAttempts, nil)
	var snooze *snoozeError
	if errors.As(err, &snooze) {
		return river.JobSnooze(snooze.d)
	}
	return err
}

type snoozeError struct{ d time.Duration }

func (e *snoozeError) Error() string { return fmt.Sprintf("snooze %v", e.d) }

// breaker pauses a transport after it refused avis's credentials, so that a
// wrong password gives one clear failure instead of a storm.
type breaker struct {
	mu    sync.Mutex
	until map[any]time.Time
}

var authBreaker = breaker{until: map[any]time.Time{}}

const authPause = 10 * time.Minute

func (b *breaker) open(key any) (time.Duration, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if u, ok := b.until[key]; ok && time.Now().Before(u) {
		return time.Until(u), true
	}
	return 0, false
}

func (b *breaker) trip(key any) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	until, was := b.until[key]
	b.until[key] = time.Now().Add(authPause)
	return !was || time.Now().After(until) // the first trip of a pause
}

// loaded is an invitation with what rendering needs of its step and event.
type loaded struct {
	Invitation
	stepName string
	occurred time.Time
	tpAttrs  map[string]string
}

const loadCols = `SELECT i.id, i.rule_id, i.survey_id, i.step_id, i.contact_id,
	i.touchpoint_id, i.channel, i.status, i.reason, i.language, i.due_at, i.sent_at, i.delivered_at, i.answered_at, i.expires_at,
	i.reminders_sent, i.attempts, i.segments, i.provider_id, i.created_at, i.updated_at, s.name, t.occurred_at, t.attributes
	FROM invitations i LEFT JOIN journey_steps s ON s.tenant_id = i.tenant_id AND s.id = i.step_id
	LEFT JOIN touchpoints t ON t.tenant_id = i.tenant_id AND t.id = i.touchpoint_id `

func (s *Store) load(ctx context.Context, tenantID, id string) (loaded, error) {
	row := s.rq.QueryRowContext(ctx, `/* dispatch.Store.load */ `+loadCols+`WHERE i.tenant_id = $1 AND i.id = $2`, tenantID, id)
	l, err := scanLoaded(row)
	if err != nil && !errors.Is(err, errStepDeleted) {
		return l, fmt.Errorf("load invitation: %w", db.Translate(err))
	}
	return l, err
}

// scanLoaded reads a row of loadCols; errStepDeleted when its step is gone.
func scanLoaded(sc interface{ Scan(...any) error }) (loaded, error) {
	var l loaded
	var step sql.NullString
	var occurred sql.NullInt64
	var attrs sql.NullString
	inv, err := scanInvitation(scanTail{sc, []any{&step, &occurred, &attrs}})
	if err != nil {
		return l, err
	}
	l.Invitation = inv
	if !step.Valid {
		return l, errStepDeleted
	}
	l.stepName = step.String
	l.occurred = db.Time(occurred.Int64)
	if attrs.Valid && attrs.String != "" && attrs.String != "{}" {
		_ = json.Unmarshal([]byte(attrs.String), &l.tpAttrs)
	}
	return l, nil
}

type scanTail struct {
	sc   interface{ Scan(...any) error }
	tail []any
}

func (p scanTail) Scan(dst ...any) error { return p.sc.Scan(append(dst, p.tail...)...) }

// prefetched is what a run reads at once for a claimed batch.
type prefetched struct {
	loaded     map[string]loaded
	deleted    map[string]bool // invitations whose step was deleted
	recipients map[string]contact.Recipient
	suppressed map[string]string
}

// prefetch reads the invitations of a batch with their steps and events,
// their recipients (one query for the contacts, one for their keys) and the
// suppressions of their addresses.
func (s *Store) prefetch(ctx context.Context, tenantID string, ids []string) (*prefetched, error) {
	p := &prefetched{loaded: map[string]loaded{}, deleted: map[string]bool{}}
	in, args := db.InList(s.db.Dialect, []any{tenantID}, ids)
	rows, err := s.db.R.QueryContext(ctx, `/* dispatch.Store.prefetch */ `+loadCols+`WHERE i.tenant_id = `+s.db.Dialect.Arg(1)+` AND i.id IN `+in, args...)
	if err != nil {
		return nil, fmt.Errorf("prefetch invitations: %w", err)
	}
	var contacts []string
	for rows.Next() {
		l, err := scanLoaded(rows)
		switch {
		case errors.Is(err, errStepDeleted):
			p.deleted[l.ID] = true
		case err != nil:
			rows.Close()
			return nil, fmt.Errorf("prefetch invitations: %w", err)
		default:
			p.loaded[l.ID] = l
			contacts = append(contacts, l.ContactID)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("prefetch invitations: %w", err)
	}
	if p.recipients, err = s.contacts.Recipients(ctx, nil, tenantID, contacts); err != nil {
		return nil, err
	}
	var indexes [][]byte
	for _, r := range p.recipients {
		if r.Reach.HasEmail {
			indexes = append(indexes, r.Reach.EmailIndex)
		}
		if r.Reach.HasPhone {
			indexes = append(indexes, r.Reach.PhoneIndex)
		}
	}
	if p.suppressed, err = privacy.SuppressedMany(ctx, s.db.R, s.db.Dialect, tenantID, indexes); err != nil {
		return nil, err
	}
	return p, nil
}

var errStepDeleted = errors.New("dispatch: step deleted")

// send does one job: decide whether the invitation still goes, render it,
// deliver it and record the outcome. last is true on the job's last
// attempt.
func (s *Store) send(ctx context.Context, a SendArgs, last bool, pre *prefetched) error {
	var l loaded
	var err error
	if pre != nil && pre.deleted[a.InvitationID] {
		err = errStepDeleted
	} else if pl, ok := pre.get(a.InvitationID); ok {
		l = pl
	} else {
		l, err = s.load(ctx, a.TenantID, a.InvitationID)
	}
	if errors.Is(err, db.ErrNotFound) {
		return nil // erased with its contact
	}
	if errors.Is(err, errStepDeleted) {
		return s.finish(ctx, a, l.Invitation, StatusFailed, ReasonStepDeleted)
	}
	if err != nil {
		return err
	}
	inv := l.Invitation
	if a.Reminder == 0 && inv.Status != StatusScheduled {
		return nil // already handled
	}
	if a.Reminder > 0 && ((inv.Status != StatusSent && inv.Status != StatusDelivered) || inv.RemindersSent >= a.Reminder) {
		return nil // answered, expired, bounced, or sent already
	}
	now := s.now()
	rule, err := s.cachedRule(ctx, a.TenantID, inv.RuleID)
	if errors.Is(err, db.ErrNotFound) {
		return s.finish(ctx, a, inv, StatusFailed, ReasonRuleDeleted)
	}
	if err != nil {
		return err
	}
	if !rule.Enabled {
		return s.finish(ctx, a, inv, StatusFailed, ReasonRuleDisabled)
	}
	if a.Reminder > 0 && !inv.ExpiresAt.IsZero() && now.After(inv.ExpiresAt) {
		return nil
	}
	if a.Reminder == 0 && now.After(inv.CreatedAt.AddDate(0, 0, rule.ExpiryDays)) {
		return s.finish(ctx, a, inv, StatusExpired, ReasonNotSent)
	}
	var rcpt contact.Recipient
	if pre != nil {
		var ok bool
		if rcpt, ok = pre.recipients[inv.ContactID]; !ok {
			err = db.ErrNotFound
		}
	} else {
		rcpt, err = s.contacts.Recipient(ctx, s.rq, a.TenantID, inv.ContactID)
	}
	if errors.Is(err, db.ErrNotFound) || errors.Is(err, vault.ErrErased) {
		return s.finish(ctx, a, inv, StatusSuppressed, ReasonErased)
	}
	if err != nil {
		return err
	}
	// The channel: the one chosen when scheduling, or the rule's fallback
	// when that address is gone or suppressed since.
	var ch, reason string
	if pre != nil {
		ch, reason = chooseChannel(rule.Rule, rcpt.Reach, pre.suppressed)
	} else if ch, reason, err = s.pickChannel(ctx, s.rq, a.TenantID, rule.Rule, rcpt.Reach); err != nil {
		return err
	}
	if ch == "" {
		status := StatusSuppressed
		if reason == ReasonNoAddress {
			status = StatusFailed
		}
		return s.finish(ctx, a, inv, status, reason)
	}
	if a.Reminder > 0 {
		ch = inv.Channel
	}
	if a.Reminder == 0 && rule.CapDays > 0 {
		capped, err := s.recentlyAskedSent(ctx, a.TenantID, inv.ContactID, inv.ID, now.AddDate(0, 0, -rule.CapDays))
		if err != nil {
			return err
		}
		if capped {
			return s.finish(ctx, a, inv, StatusCapped, ReasonCapped)
		}
	}
	w := rule.EmailWindow
	if ch == SMS {
		w = rule.SMSWindow
	}
	if next := w.Next(now, zone(rcpt.TimeZone)); next.After(now.Add(time.Minute)) {
		return &snoozeError{next.Sub(now)}
	}
	snd, err := s.sender(ctx, a.TenantID)
	if err != nil {
		return err
	}
	if err := s.waitTurn(ctx, a.TenantID); err != nil {
		return err
	}
	token, err := s.token(ctx, nil, a.TenantID, inv.ID)
	if err != nil {
		return err
	}
	inv.Channel = ch
	rc := &renderCtx{inv: inv, rule: rule, snd: snd, rcpt: rcpt, stepName: l.stepName, occurred: l.occurred, tpAttrs: l.tpAttrs,
		token: token, reminder: a.Reminder, now: now}
	if ch == SMS {
		return s.sendSMS(ctx, a, rc, last)
	}
	return s.sendEmail(ctx, a, rc, last)
}

func (s *Store) sendEmail(ctx context.Context, a SendArgs, rc *renderCtx, last bool) error {
	snd := rc.snd
	if snd.emailErr != nil {
		s.log.Error("dispatch: tenant relay unusable", "tenant", a.TenantID, "err", snd.emailErr)
		return &snoozeError{authPause}
	}
	if snd.email != nil {
		if d, open := authBreaker.open(snd.email); open {
			return &snoozeError{d}
		}
	}
	msg, err := rc.renderEmail()
	if err != nil {
		return s.finish(ctx, a, rc.inv, StatusFailed, "render_failed")
	}
	if snd.email == nil {
		return s.commitSent(ctx, a, rc, msg, true)
	}
	committed := false
	err = snd.email.Deliver(ctx, msg.Envelope, msg.Raw, func() error {
		if err := s.commitSent(ctx, a, rc, msg, false); err != nil {
			return err
		}
		committed = true
		return nil
	})
	if err == nil {
		return nil
	}
	if errors.Is(err, errNotCommitted) {
		return nil
	}
	var se *email.SendError
	if !errors.As(err, &se) {
		se = &email.SendError{Temporary: true, Msg: err.Error()}
	}
	if committed {
		// The relay refused the message after the invitation was marked
		// sent: undo it.
		if err := s.uncommit(ctx, a, rc.inv); err != nil {
			return err
		}
	}
	switch {
	case se.Auth:
		if authBreaker.trip(snd.email) {
			s.log.Error("dispatch: the SMTP relay refused avis's login; sending is paused for 10 minutes", "tenant", a.TenantID, "code", se.Code)
		}
		s.setReason(ctx, a.TenantID, rc.inv.ID, ReasonRelayAuth)
		return &snoozeError{authPause}
	case se.RateLimited:
		// The relay asked to slow down: this one waits out the pause
		// without it counting as a failed attempt.
		return &snoozeError{max(se.RetryAfter, time.Second)}
	case se.HardBounce:
		if err := privacy.Suppress(ctx, s.db.W, a.TenantID, rc.rcpt.Reach.EmailIndex, privacy.SuppressEmail, privacy.ReasonHardBounce); err != nil {
			return err
		}
		return s.finish(ctx, a, rc.inv, StatusBounced, ReasonHardBounce)
	case se.Temporary && !last:
		return fmt.Errorf("dispatch: relay answered %d %s: %w", se.Code, se.EnhancedCode, errTemporary)
	case se.Temporary:
		return s.finish(ctx, a, rc.inv, StatusBounced, ReasonRetriesDone)
	default:
		return s.finish(ctx, a, rc.inv, StatusFailed, ReasonRejected)
	}
}

// sendSMS sends through the tenant's provider. An HTTP call cannot be
// made final after a commit the way SMTP can, so the invitation is first
// marked sending; a crash then leaves it sending, and it is never sent
// again (at most once: a missing SMS is better than a duplicate).
func (s *Store) sendSMS(ctx context.Context, a SendArgs, rc *renderCtx, last bool) error {
	snd := rc.snd
	msg, err := rc.renderSMS()
	if err != nil {
		return s.finish(ctx, a, rc.inv, StatusFailed, "render_failed")
	}
	if snd.smsErr != nil {
		return s.finish(ctx, a, rc.inv, StatusFailed, ReasonNoSMSProvider)
	}
	if snd.sms == nil {
		return s.commitSent(ctx, a, rc, msg, true)
	}
	if snd.smsLimit != nil {
		if err := snd.smsLimit.Wait(ctx); err != nil {
			return err
		}
	}
	if a.Reminder == 0 {
		ok, err := s.mark(ctx, a.TenantID, rc.inv.ID, StatusScheduled, StatusSending)
		if err != nil || !ok {
			return err
		}
	}
	res, err := snd.sms.Send(ctx, msg.SMS)
	if err == nil {
		msg.Info.Segments = max(msg.Info.Segments, res.Segments)
		rc.inv.ProviderID = res.ProviderID
		return s.commitSent(ctx, a, rc, msg, false)
	}
	var se *sms.SendError
	if !errors.As(err, &se) {
		se = &sms.SendError{Temporary: true, Msg: err.Error()}
	}
	back := func() error {
		if a.Reminder == 0 {
			_, err := s.mark(ctx, a.TenantID, rc.inv.ID, StatusSending, StatusScheduled)
			return err
		}
		return nil
	}
	switch {
	case se.RateLimited:
		if snd.smsLimit != nil {
			snd.smsLimit.Hold(max(se.RetryAfter, time.Second))
		}
		if err := back(); err != nil {
			return err
		}
		return &snoozeError{max(se.RetryAfter, time.Second)}
	case se.Auth:
		if err := back(); err != nil {
			return err
		}
		if authBreaker.trip(snd.sms) {
			s.log.Error("dispatch: the SMS provider refused avis's credentials; SMS are paused for 10 minutes", "tenant", a.TenantID)
		}
		return &snoozeError{authPause}
	case se.Temporary && !last:
		if err := back(); err != nil {
			return err
		}
		return fmt.Errorf("dispatch: SMS provider answered %d: %w", se.Status, errTemporary)
	case se.Unsupported:
		return s.finishFrom(ctx, a, rc.inv, StatusSending, StatusFailed, ReasonUnsupported)
	default:
		return s.finishFrom(ctx, a, rc.inv, StatusSending, StatusFailed, ReasonRejected)
	}
}

// commitSent records an invitation (or reminder) as sent, with the outbox
// copy when toOutbox, and schedules the next reminder, in one transaction.
// It returns errNotCommitted when another run got there first.
func (s *Store) commitSent(ctx context.Context, a SendArgs, rc *renderCtx, msg Message, toOutbox bool) error {
	if _, err := s.wq.Stmt(ctx, commitSentQuery); err != nil { // before the transaction holds the writer
		return fmt.Errorf("record sent invitation: %w", err)
	}
	now := s.now()
	inv := rc.inv
	rule := rc.rule
	return s.sent.Do(func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if a.Reminder == 0 {
			// The invitations of one transaction share their place in
			// the feed: one number per tenant and transaction.
			var v any
			if v, err = s.sent.Once(tx, a.TenantID, func() (any, error) { return feed.Reserve(ctx, tx, a.TenantID, 1) }); err != nil {
				return fmt.Errorf("record sent invitation: %w", err)
			}
			seq := v.(int64)
			res, err = s.wq.In(tx).ExecContext(ctx, commitSentQuery,
				a.TenantID, inv.ID, inv.Channel, db.Stamp(now), db.Stamp(now.AddDate(0, 0, rule.ExpiryDays)), inv.ProviderID, msg.Info.Segments, seq)
		} else {
			res, err = tx.ExecContext(ctx, `/* dispatch.Store.commitSent */ UPDATE invitations SET reminders_sent = $3, updated_at = $4
				WHERE tenant_id = $1 AND id = $2 AND reminders_sent = $5 AND status IN ('sent', 'delivered')`,
				a.TenantID, inv.ID, a.Reminder, db.Stamp(now), a.Reminder-1)
		}
		if err != nil {
			return fmt.Errorf("record sent invitation: %w", db.Translate(err))
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errNotCommitted
		}
		if toOutbox {
			if err := s.toOutbox(ctx, tx, a.TenantID, inv, a.Reminder, msg); err != nil {
				return err
			}
		}
		next := a.Reminder + 1
		if next <= rule.Reminders && (inv.Channel == Email || rule.SMSReminders) {
			at := now.AddDate(0, 0, rule.ReminderDays)
			if err := s.Queue.InsertTx(ctx, tx, SendArgs{TenantID: a.TenantID, InvitationID: inv.ID, Reminder: next},
				&river.InsertOpts{ScheduledAt: at}); err != nil {
				return err
			}
		}
		return nil
	})
}

const commitSentQuery = `/* dispatch.Store.commitSent */ UPDATE invitations SET status = 'sent', reason = '', channel = $3,
	sent_at = $4, expires_at = $5, attempts = attempts + 1, provider_id = $6, segments = $7, updated_at = $4, sync_seq = $8
	WHERE tenant_id = $1 AND id = $2 AND status IN ('scheduled', 'sending')`

// uncommit puts back an invitation whose delivery failed after commitSent.
func (s *Store) uncommit(ctx context.Context, a SendArgs, inv Invitation) error {
	var err error
	if a.Reminder == 0 {
		err = s.db.Tx(ctx, func(tx *sql.Tx) error {
			seq, err := feed.Reserve(ctx, tx, a.TenantID, 1)
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `/* dispatch.Store.uncommit */ UPDATE invitations SET status = 'scheduled', sent_at = 0, expires_at = 0,
				attempts = attempts - 1, updated_at = $3, sync_seq = $4 WHERE tenant_id = $1 AND id = $2 AND status = 'sent'`, a.TenantID, inv.ID, db.Now(), seq)
			return err
		})
	} else {
		_, err = s.db.W.ExecContext(ctx, `/* dispatch.Store.uncommit */ UPDATE invitations SET reminders_sent = $3, updated_at = $4
			WHERE tenant_id = $1 AND id = $2 AND reminders_sent = $5`, a.TenantID, inv.ID, a.Reminder-1, db.Now(), a.Reminder)
	}
	if err != nil {
		return fmt.Errorf("undo sent invitation: %w", db.Translate(err))
	}
	return nil
}

// mark moves an invitation from one status to another; false when it was
// not in `from`.
func (s *Store) mark(ctx context.Context, tenantID, id, from, to string) (bool, error) {
	res, err := s.db.W.ExecContext(ctx, `/* dispatch.Store.mark */ UPDATE invitations SET status = $4, updated_at = $5
		WHERE tenant_id = $1 AND id = $2 AND status = $3`, tenantID, id, from, to, db.Now())
	if err != nil {
		return false, fmt.Errorf("invitation status: %w", db.Translate(err))
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func (s *Store) setReason(ctx context.Context, tenantID, id, reason string) {
	_, err := s.db.W.ExecContext(ctx, `/* dispatch.Store.setReason */ UPDATE invitations SET reason = $3 WHERE tenant_id = $1 AND id = $2`, tenantID, id, reason)
	if err != nil {
		s.log.Warn("dispatch: record reason", "err", err)
	}
}

// finish ends a scheduled invitation with a final status (a reminder job
// ends silently).
func (s *Store) finish(ctx context.Context, a SendArgs, inv Invitation, status, reason string) error {
	return s.finishFrom(ctx, a, inv, StatusScheduled, status, reason)
}

func (s *Store) finishFrom(ctx context.Context, a SendArgs, inv Invitation, from, status, reason string) error {
	if a.Reminder > 0 {
		return nil
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		seq, err := feed.Reserve(ctx, tx, a.TenantID, 1)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `/* dispatch.Store.finish */ UPDATE invitations SET status = $4, reason = $5, attempts = attempts + 1,
			updated_at = $6, sync_seq = $7 WHERE tenant_id = $1 AND id = $2 AND status = $3`, a.TenantID, inv.ID, from, status, reason, db.Now(), seq)
		if err != nil {
			return db.Translate(err)
		}
		if n, _ := res.RowsAffected(); n == 1 && status == StatusBounced {
			return s.bounced(ctx, tx, a.TenantID, inv.ID, inv.ContactID)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("invitation status: %w", err)
	}
	return nil
}

// bounced tells the feed that an invitation bounced, in the transaction
// that recorded it.
func (s *Store) bounced(ctx context.Context, tx *sql.Tx, tenantID, invitationID, contactID string) error {
	return s.o.Feed.Emit(ctx, tx, tenantID, feed.Event{Type: feed.InvitationBounced, ObjectID: invitationID, ContactID: contactID,
		ExternalID: s.externalID(ctx, tx, tenantID, contactID)})
}

// externalID returns the CRM's id of a contact, or "" when it has none or
// is gone.
func (s *Store) externalID(ctx context.Context, q db.Querier, tenantID, contactID string) string {
	var ext string
	if contactID == "" {
		return ""
	}
	err := q.QueryRowContext(ctx, `/* dispatch.Store.externalID */ SELECT external_id FROM contacts WHERE tenant_id = $1 AND id = $2`,
		tenantID, contactID).Scan(&ext)
	if err != nil {
		return ""
	}
	return ext
}

// recentlyAskedSent reports whether the contact got another invitation
// since `since` (the cap at sending time: scheduled ones do not count).
func (s *Store) recentlyAskedSent(ctx context.Context, tenantID, contactID, except string, since time.Time) (bool, error) {
	var n int
	err := s.rq.QueryRowContext(ctx, `/* dispatch.Store.recentlyAskedSent */ SELECT COUNT(*) FROM (SELECT 1 FROM invitations
		WHERE tenant_id = $1 AND contact_id = $2 AND id <> $3 AND sent_at >= $4 LIMIT 1) x`,
		tenantID, contactID, except, db.Stamp(since)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("frequency cap: %w", err)
	}
	return n > 0, nil
}

// get returns a prefetched invitation; false for a nil p.
func (p *prefetched) get(id string) (loaded, bool) {
	if p == nil {
		return loaded{}, false
	}
	l, ok := p.loaded[id]
	return l, ok
}
