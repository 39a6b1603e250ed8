package dispatch

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"avis/internal/contact"
	"avis/internal/db"
	"avis/internal/privacy"
)

// Invitation statuses.
const (
	StatusScheduled  = "scheduled"  // waiting for its time (delay, send window)
	StatusSending    = "sending"    // handed to an SMS provider, answer not yet recorded
	StatusSent       = "sent"       // accepted by the relay or provider
	StatusDelivered  = "delivered"  // the provider reported delivery
	StatusBounced    = "bounced"    // the address does not exist (hard) or kept refusing (soft)
	StatusFailed     = "failed"     // could not be sent; reason says why
	StatusExpired    = "expired"    // the link expired without an answer
	StatusSuppressed = "suppressed" // the person opted out or was erased
	StatusCapped     = "capped"     // the person was asked recently (frequency cap)
	StatusAnswered   = "answered"   // the person answered
)

// Statuses lists every status in display order.
var Statuses = []string{StatusScheduled, StatusSending, StatusSent, StatusDelivered, StatusAnswered, StatusBounced,
	StatusFailed, StatusExpired, StatusSuppressed, StatusCapped}

// Reasons recorded with a status. They are codes, never personal data.
const (
	ReasonNoAddress     = "no_address"
	ReasonErased        = "erased"
	ReasonRuleDeleted   = "rule_deleted"
	ReasonRuleDisabled  = "rule_disabled"
	ReasonStepDeleted   = "step_deleted"
	ReasonNotSent       = "not_sent_before_expiry"
	ReasonRetriesDone   = "temporary_failures"
	ReasonRejected      = "rejected_by_relay"
	ReasonUnsupported   = "destination_not_served"
	ReasonSMSUnknown    = "sms_outcome_unknown"
	ReasonCapped        = "asked_recently"
	ReasonRestricted    = "processing_restricted"
	ReasonHardBounce    = privacy.ReasonHardBounce
	ReasonUnsubscribed  = privacy.ReasonUnsubscribed
	ReasonRelayAuth     = "relay_login_refused"
	ReasonNoSMSProvider = "no_sms_provider"
)

// Invitation is one person asked once for one event.
type Invitation struct {
	ID, RuleID, SurveyID, StepID, ContactID, TouchpointID string
	Channel, Status, Reason, Language                     string
	DueAt, SentAt, DeliveredAt, AnsweredAt, ExpiresAt     time.Time
	RemindersSent, Attempts, Segments                     int
	ProviderID                                            string
	CreatedAt, UpdatedAt                                  time.Time
}

// SendArgs is the job that sends one invitation, or its Reminder-th
// reminder. It is unique per invitation and reminder; the invitation row
// decides whether anything is left to send.
type SendArgs struct {
	TenantID     string `json:"tenant_id"`
	InvitationID string `json:"invitation_id"`
	Reminder     int    `json:"reminder,omitempty"`
}

// Kind implements river.JobArgs.
func (SendArgs) Kind() string { return "dispatch.send" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (SendArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: MaxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// MaxAttempts bounds the attempts of a send job (temporary failures are
// retried with exponential backoff over about three days).
const MaxAttempts = 14

// Scheduled says what Schedule did with one touchpoint.
type Scheduled struct {
	TouchpointID string
	// InvitationID is empty when the step has no enabled rule or the event
	// was sampled out.
	InvitationID string
	Status       string
	Reason       string
	DueAt        time.Time
}

// sampled decides, the same way every time for a touchpoint, whether it is
// in the sample.
func sampled(touchpointID string, percent int) bool {
	if percent >= 100 {
		return true
	}
	h := fnv.New32a()
	h.Write([]byte(touchpointID))
	return int(h.Sum32()%100) < percent
}

// zone is the recipient's time zone, Europe/Paris when unknown.
func zone(name string) *time.Location {
	if name != "" {
		if loc, err := ParseTimeZone(name); err == nil {
			return loc
		}
	}
	loc, _ := ParseTimeZone("Europe/Paris")
	return loc
}

// pickChannel returns the first channel of the rule for which the contact
// has an address that is not suppressed, or "" and why none (a restricted
// contact has none).
func (s *Store) pickChannel(ctx context.Context, q db.Querier, tenantID string, r *Rule, reach contact.Reach) (string, string, error) {
	if reach.Restricted {
		return "", ReasonRestricted, nil
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
		sup, why, err := privacy.Suppressed(ctx, q, tenantID, ix)
		if err != nil {
			return "", "", err
		}
		if sup {
			reason = why
			continue
		}
		return ch, "", nil
	}
	return "", reason, nil
}

const invitationCols = `id, rule_id, survey_id, step_id, contact_id, touchpoint_id, channel, status, reason, language, due_at, sent_at,
	delivered_at, answered_at, expires_at, reminders_sent, attempts, segments, provider_id, created_at, updated_at`

// InvitationColumns returns the columns ScanInvitation reads, each named
// with the table alias given (as in "i"), for another package's query that
// joins invitations.
func InvitationColumns(alias string) string {
	cols := strings.Split(invitationCols, ",")
	for i, c := range cols {
		cols[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// ScanInvitation reads an invitation from the columns InvitationColumns
// names.
func ScanInvitation(sc interface{ Scan(...any) error }) (Invitation, error) {
	return scanInvitation(sc)
}

func scanInvitation(sc interface{ Scan(...any) error }) (Invitation, error) {
	var inv Invitation
	var due, sent, delivered, answered, expires, created, updated int64
	err := sc.Scan(&inv.ID, &inv.RuleID, &inv.SurveyID, &inv.StepID, &inv.ContactID, &inv.TouchpointID, &inv.Channel, &inv.Status,
		&inv.Reason, &inv.Language, &due, &sent, &delivered, &answered, &expires, &inv.RemindersSent, &inv.Attempts, &inv.Segments,
		&inv.ProviderID, &created, &updated)
	if err != nil {
		return Invitation{}, err
	}
	inv.DueAt, inv.SentAt, inv.DeliveredAt, inv.AnsweredAt, inv.ExpiresAt = db.Time(due), db.Time(sent), db.Time(delivered), db.Time(answered), db.Time(expires)
	inv.CreatedAt, inv.UpdatedAt = db.Time(created), db.Time(updated)
	return inv, nil
}

// Invitation returns one invitation of the tenant (db.ErrNotFound
// otherwise).
func (s *Store) Invitation(ctx context.Context, tenantID, id string) (Invitation, error) {
	inv, err := scanInvitation(s.db.R.QueryRowContext(ctx, `/* dispatch.Store.Invitation */ SELECT `+invitationCols+`
		FROM invitations WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if err != nil {
		return Invitation{}, fmt.Errorf("invitation: %w", db.Translate(err))
	}
	return inv, nil
}

// ByToken finds the invitation of a survey link token, with its tenant.
// An unknown token is db.ErrNotFound.
func (s *Store) ByToken(ctx context.Context, token string) (tenantID string, inv Invitation, err error) {
	if len(token) != TokenLen {
		return "", Invitation{}, db.ErrNotFound
	}
	row := s.rq.QueryRowContext(ctx, `/* dispatch.Store.ByToken */ SELECT tenant_id, `+invitationCols+` FROM invitations WHERE token_hash = $1`, TokenHash(token))
	var tid string
	inv, err = scanInvitation(scanPrefix{row, &tid})
	if err != nil {
		return "", Invitation{}, fmt.Errorf("invitation by token: %w", db.Translate(err))
	}
	return tid, inv, nil
}

type scanPrefix struct {
	row   *sql.Row
	first *string
}

func (p scanPrefix) Scan(dst ...any) error { return p.row.Scan(append([]any{p.first}, dst...)...) }

// Counts returns how many of the tenant's invitations are in each status,
// for those created since `since`.
func (s *Store) Counts(ctx context.Context, tenantID string, since time.Time) (map[string]int, error) {
	rows, err := s.db.R.QueryContext(ctx, `/* dispatch.Store.Counts */ SELECT status, COUNT(*) FROM invitations
		WHERE tenant_id = $1 AND created_at >= $2 GROUP BY status`, tenantID, db.Stamp(since))
	if err != nil {
		return nil, fmt.Errorf("invitation counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("invitation counts: %w", err)
		}
		out[st] = n
	}
	return out, rows.Err()
}

// List returns the tenant's latest invitations, newest first, optionally
// of one status, before the cursor (an invitation id).
func (s *Store) List(ctx context.Context, tenantID, status, before string, limit int) ([]Invitation, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	if before == "" {
		before = "~"
	}
	rows, err := s.db.R.QueryContext(ctx, `/* dispatch.Store.List */ SELECT `+invitationCols+` FROM invitations
		WHERE tenant_id = $1 AND ($2 = '' OR status = $2) AND id < $3 ORDER BY id DESC LIMIT $4`, tenantID, status, before, limit)
	if err != nil {
		return nil, fmt.Errorf("invitations: %w", err)
	}
	defer rows.Close()
	var out []Invitation
	for rows.Next() {
		inv, err := scanInvitation(rows)
		if err != nil {
			return nil, fmt.Errorf("invitations: %w", err)
		}
		out = append(out, inv)
	}
	return out, rows.Err()
}
