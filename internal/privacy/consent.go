package privacy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"avis/internal/db"
)

// Purposes a consent is given for.
const (
	// PurposePublishReview is the consent to publish a review with the
	// author's first name and the initial of their last name.
	PurposePublishReview = "publish_review"
)

// Channels and methods of a consent.
const (
	// ChannelWeb is a consent given on a web page of avis.
	ChannelWeb = "web"
	// MethodCheckbox is an unticked checkbox the person ticked.
	MethodCheckbox = "checkbox"
)

// JurisdictionEU is the law a consent is given under by default: the GDPR.
const JurisdictionEU = "EU GDPR"

// MaxWording bounds the wording a receipt keeps, in characters.
const MaxWording = 2000

// ErrInvalidConsent says a consent lacks what a receipt must hold.
var ErrInvalidConsent = errors.New("a consent needs a tenant, a subject, a purpose, the wording shown, a language, a channel and a method")

// Receipt is one receipt of the consent ledger (PRIVACY.md P4, in the
// manner of Kantara Consent Receipts and ISO/IEC TS 27560): who (a
// pseudonymous subject id, the contact's) agreed to what purpose, about
// which response, under which information notice, with the exact wording
// shown in the language shown, how, and when; and when it was withdrawn.
type Receipt struct {
	// ID is the receipt id.
	ID       string
	TenantID string
	// SubjectID is the contact id of the person.
	SubjectID string
	Purpose   string
	// ResponseID is the response the consent is about ("" when it is about
	// no response).
	ResponseID string
	// NoticeID and NoticeHash name the information notice in force when
	// the consent was given ("" before notices exist).
	NoticeID, NoticeHash string
	// Wording is the exact text of the checkbox, as shown.
	Wording      string
	Language     string
	Jurisdiction string
	Channel      string
	Method       string
	GivenAt      time.Time
	// WithdrawnAt is zero while the consent stands.
	WithdrawnAt time.Time
}

// Valid reports whether the consent stands: given and not withdrawn.
func (c Receipt) Valid() bool { return !c.GivenAt.IsZero() && c.WithdrawnAt.IsZero() }

// ValidAt reports whether the consent stood at t: given at or before t and
// not withdrawn by then.
func (c Receipt) ValidAt(t time.Time) bool {
	return !c.GivenAt.IsZero() && !c.GivenAt.After(t) && (c.WithdrawnAt.IsZero() || c.WithdrawnAt.After(t))
}

// Consents is the consent ledger of every tenant.
type Consents struct {
	db *db.DB
}

// NewConsents returns the ledger.
func NewConsents(d *db.DB) *Consents { return &Consents{db: d} }

const consentCols = `id, tenant_id, subject_id, purpose, response_id, notice_id, notice_hash, wording, language,
	jurisdiction, channel, method, given_at, withdrawn_at`

func scanConsent(sc interface{ Scan(...any) error }) (Receipt, error) {
	var c Receipt
	var given, withdrawn int64
	err := sc.Scan(&c.ID, &c.TenantID, &c.SubjectID, &c.Purpose, &c.ResponseID, &c.NoticeID, &c.NoticeHash, &c.Wording,
		&c.Language, &c.Jurisdiction, &c.Channel, &c.Method, &given, &withdrawn)
	c.GivenAt, c.WithdrawnAt = db.Time(given), db.Time(withdrawn)
	return c, err
}

// Record writes a receipt through q (the caller's transaction, or nil for
// the writer) and returns it with its id and time. GivenAt defaults to now
// and Jurisdiction to JurisdictionEU. A consent without a subject, purpose,
// wording, language, channel or method is ErrInvalidConsent: no consent,
// no record.
func (l *Consents) Record(ctx context.Context, q db.Querier, c Receipt) (Receipt, error) {
	if c.TenantID == "" || c.SubjectID == "" || c.Purpose == "" || strings.TrimSpace(c.Wording) == "" ||
		c.Language == "" || c.Channel == "" || c.Method == "" || !utf8.ValidString(c.Wording) ||
		utf8.RuneCountInString(c.Wording) > MaxWording {
		return Receipt{}, ErrInvalidConsent
	}
	if q == nil {
		q = l.db.W
	}
	if c.GivenAt.IsZero() {
		c.GivenAt = db.Time(db.Now())
	}
	if c.Jurisdiction == "" {
		c.Jurisdiction = JurisdictionEU
	}
	c.ID = db.NewID()
	c.WithdrawnAt = time.Time{}
	_, err := q.ExecContext(ctx, `/* privacy.Consents.Record */ INSERT INTO consents (`+consentCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 0)`,
		c.ID, c.TenantID, c.SubjectID, c.Purpose, c.ResponseID, c.NoticeID, c.NoticeHash, c.Wording, c.Language,
		c.Jurisdiction, c.Channel, c.Method, db.Stamp(c.GivenAt))
	if err != nil {
		return Receipt{}, fmt.Errorf("record consent: %w", db.Translate(err))
	}
	return c, nil
}

// Get returns one receipt of the tenant, or db.ErrNotFound.
func (l *Consents) Get(ctx context.Context, tenantID, receiptID string) (Receipt, error) {
	c, err := scanConsent(l.db.R.QueryRowContext(ctx, `/* privacy.Consents.Get */ SELECT `+consentCols+`
		FROM consents WHERE tenant_id = $1 AND id = $2`, tenantID, receiptID))
	if err != nil {
		return Receipt{}, fmt.Errorf("consent: %w", db.Translate(err))
	}
	return c, nil
}

// ForSubject lists a person's receipts, oldest first, withdrawn ones
// included.
func (l *Consents) ForSubject(ctx context.Context, tenantID, subjectID string) ([]Receipt, error) {
	return l.list(ctx, `/* privacy.Consents.ForSubject */ SELECT `+consentCols+` FROM consents
		WHERE tenant_id = $1 AND subject_id = $2 ORDER BY given_at, id`, tenantID, subjectID)
}

// ForResponse lists the receipts about one response, oldest first.
func (l *Consents) ForResponse(ctx context.Context, tenantID, responseID string) ([]Receipt, error) {
	return l.list(ctx, `/* privacy.Consents.ForResponse */ SELECT `+consentCols+` FROM consents
		WHERE tenant_id = $1 AND response_id = $2 ORDER BY given_at, id`, tenantID, responseID)
}

func (l *Consents) list(ctx context.Context, query string, args ...any) ([]Receipt, error) {
	rows, err := l.db.R.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("consents: %w", err)
	}
	defer rows.Close()
	var out []Receipt
	for rows.Next() {
		c, err := scanConsent(rows)
		if err != nil {
			return nil, fmt.Errorf("consents: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("consents: %w", err)
	}
	return out, nil
}

// Withdraw marks a receipt withdrawn at `at` (now when zero). Withdrawing
// twice keeps the first time. An unknown receipt is db.ErrNotFound.
func (l *Consents) Withdraw(ctx context.Context, tenantID, receiptID string, at time.Time) error {
	if at.IsZero() {
		at = time.Now()
	}
	res, err := l.db.W.ExecContext(ctx, `/* privacy.Consents.Withdraw */ UPDATE consents
		SET withdrawn_at = CASE WHEN withdrawn_at = 0 THEN $3 ELSE withdrawn_at END
		WHERE tenant_id = $1 AND id = $2`, tenantID, receiptID, db.Stamp(at))
	if err != nil {
		return fmt.Errorf("withdraw consent: %w", db.Translate(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("withdraw consent: %w", db.ErrNotFound)
	}
	return nil
}

// WithdrawSubject withdraws, through q, every standing consent of a person
// (on erasure, or when they withdraw everything at once) and returns how
// many.
func WithdrawSubject(ctx context.Context, q db.Querier, tenantID, subjectID string, at time.Time) (int64, error) {
	if at.IsZero() {
		at = time.Now()
	}
	res, err := q.ExecContext(ctx, `/* privacy.WithdrawSubject */ UPDATE consents SET withdrawn_at = $3
		WHERE tenant_id = $1 AND subject_id = $2 AND withdrawn_at = 0`, tenantID, subjectID, db.Stamp(at))
	if err != nil {
		return 0, fmt.Errorf("withdraw consents: %w", db.Translate(err))
	}
	return res.RowsAffected()
}

// Standing returns the standing consent for a purpose about a response:
// the latest receipt given and not withdrawn. ok is false when there is
// none: no consent, no publication.
func (l *Consents) Standing(ctx context.Context, tenantID, responseID, purpose string) (c Receipt, ok bool, err error) {
	c, err = scanConsent(l.db.R.QueryRowContext(ctx, `/* privacy.Consents.Standing */ SELECT `+consentCols+` FROM consents
		WHERE tenant_id = $1 AND response_id = $2 AND purpose = $3 AND withdrawn_at = 0 ORDER BY given_at DESC, id DESC LIMIT 1`,
		tenantID, responseID, purpose))
	if err != nil {
		if err = db.Translate(err); errors.Is(err, db.ErrNotFound) {
			return Receipt{}, false, nil
		}
		return Receipt{}, false, fmt.Errorf("consent: %w", err)
	}
	return c, true, nil
}

// MayPublish reports whether the response's author has a standing consent
// to publish it (PurposePublishReview).
func (l *Consents) MayPublish(ctx context.Context, tenantID, responseID string) (bool, error) {
	_, ok, err := l.Standing(ctx, tenantID, responseID, PurposePublishReview)
	return ok, err
}
