package dispatch

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"avis/internal/audit"
	"avis/internal/db"
	"avis/internal/placeholder"
)

// Channels an invitation can take.
const (
	Email = "email"
	SMS   = "sms"
)

// Rule says how a journey step asks: which survey, after which delay, by
// which channels (first the preferred, then the fallback for a contact who
// has no address for it), in which send windows of the recipient's time
// zone, how often at most, with how many reminders, how long the link
// lives, for which share of the events, and with which texts.
type Rule struct {
	ID       string
	StepID   string
	SurveyID string
	Enabled  bool
	// Delay after the event before the invitation is due.
	Delay time.Duration
	// Channels in order of preference: [email], [sms], [email sms] or
	// [sms email].
	Channels    []string
	EmailWindow Window
	SMSWindow   Window
	// CapDays: at most one invitation per person per CapDays across every
	// survey of the tenant (0: no cap).
	CapDays int
	// Reminders after ReminderDays without an answer (0: none). SMS
	// invitations get reminders only with SMSReminders.
	Reminders    int
	ReminderDays int
	SMSReminders bool
	// ExpiryDays is how long the survey link works after sending.
	ExpiryDays int
	// SamplePercent of the step's events get an invitation (1..100).
	SamplePercent int
	// Texts by language (fr, en, de, es, it, pt). A language without texts
	// uses the built-in ones.
	Texts     map[string]Texts
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Texts are what a tenant writes for one language, with placeholders (see
// Placeholders).
type Texts struct {
	Subject string `json:"subject,omitempty"`
	Body    string `json:"body,omitempty"`
	SMS     string `json:"sms,omitempty"`
}

// Placeholders are the names invitation texts may use.
var Placeholders = []string{"first_name", "last_name", "company", "step", "date", "store", "product", "survey_link"}

// Languages invitations are written in.
var Languages = []string{"fr", "en", "de", "es", "it", "pt"}

// Limits of rule settings.
const (
	MaxDelay      = 90 * 24 * time.Hour
	MaxCapDays    = 365
	MaxReminders  = 3
	MaxExpiryDays = 365
)

// Errors callers tell apart. Validation errors are *Problem values that
// wrap ErrInvalidRule.
var (
	ErrInvalidRule = errors.New("invalid rule")
	ErrNoRule      = errors.New("this step has no invitation rule")
)

// DefaultRule returns the defaults of a new rule for a step and survey:
// email, no delay, the default windows, one invitation per 30 days, one
// reminder after 3 days (none by SMS), links valid 30 days, every event.
func DefaultRule(stepID, surveyID string) Rule {
	return Rule{StepID: stepID, SurveyID: surveyID, Enabled: true, Channels: []string{Email},
		EmailWindow: DefaultEmailWindow(), SMSWindow: DefaultSMSWindow(), CapDays: 30, Reminders: 1, ReminderDays: 3,
		ExpiryDays: 30, SamplePercent: 100, Texts: map[string]Texts{}}
}

// Validate checks a rule and compiles its texts. Each problem is reported,
// as a *Problem (joined with errors.Join; see Problems); a text error names
// the language, the text and the line.
func (r *Rule) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, problem(format, args...))
	}
	if !db.ValidID(r.StepID) {
		bad("choose the journey step that triggers the invitation")
	}
	if !db.ValidID(r.SurveyID) {
		bad("choose the survey the invitation asks to answer")
	}
	if r.Delay < 0 || r.Delay > MaxDelay {
		bad("the delay after the event is between 0 and 90 days")
	}
	if len(r.Channels) == 0 || len(r.Channels) > 2 {
		bad("choose email, SMS, or both in order of preference")
	}
	seen := map[string]bool{}
	for _, c := range r.Channels {
		if (c != Email && c != SMS) || seen[c] {
			bad("channel %q: use email or sms, each once", c)
		}
		seen[c] = true
	}
	if err := r.EmailWindow.Validate(); err != nil {
		bad("email send window: %s", windowCause(err))
	}
	if err := r.SMSWindow.Validate(); err != nil {
		bad("SMS send window: %s", windowCause(err))
	}
	if r.CapDays < 0 || r.CapDays > MaxCapDays {
		bad("the frequency cap is between 0 (none) and 365 days")
	}
	if r.Reminders < 0 || r.Reminders > MaxReminders {
		bad("at most 3 reminders")
	}
	if r.Reminders > 0 && (r.ReminderDays < 1 || r.ReminderDays > 60) {
		bad("a reminder goes 1 to 60 days after the invitation")
	}
	if r.ExpiryDays < 1 || r.ExpiryDays > MaxExpiryDays {
		bad("the link lives 1 to 365 days")
	}
	if r.Reminders > 0 && r.ReminderDays*r.Reminders >= r.ExpiryDays {
		bad("reminders must go before the link expires: make the link live longer than %d days", r.ReminderDays*r.Reminders)
	}
	if r.SamplePercent < 1 || r.SamplePercent > 100 {
		bad("the sampling rate is between 1 and 100 percent")
	}
	for _, lang := range slices.Sorted(maps.Keys(r.Texts)) {
		if !slices.Contains(Languages, lang) {
			bad("texts in %q: use one of %s", lang, strings.Join(Languages, ", "))
			continue
		}
		if _, err := r.Texts[lang].compile(lang); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// windowCause is a window's problem, to nest in a rule's.
func windowCause(err error) any {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	return err.Error()
}

// compiled is a language's texts ready to render.
type compiled struct {
	subject, body, sms *placeholder.Template
}

// compile compiles the texts in lang; the error joins a *Problem for each
// compile error, naming the language, the text and the line.
func (t Texts) compile(lang string) (compiled, error) {
	var c compiled
	var errs []error
	compile := func(name, src string, single bool, max int) *placeholder.Template {
		if src == "" {
			return nil
		}
		tpl, err := placeholder.Compile(src, Placeholders, placeholder.Limits{SingleLine: single, MaxBytes: max})
		if err != nil {
			for _, p := range textProblems(lang, name, err) {
				errs = append(errs, p)
			}
		}
		return tpl
	}
	c.subject = compile("subject", t.Subject, true, 300)
	c.body = compile("email text", t.Body, false, 20_000)
	c.sms = compile("SMS text", t.SMS, true, 1_000)
	return c, errors.Join(errs...)
}

// SaveRule creates or replaces the rule of its step after validating it.
// The rule of a step keeps its id; invitations already scheduled keep the
// rule they were made with, except that a disabled rule sends nothing more.
func (s *Store) SaveRule(ctx context.Context, actor audit.Actor, tenantID string, r Rule) (Rule, error) {
	if err := r.Validate(); err != nil {
		return Rule{}, err
	}
	ew, _ := json.Marshal(r.EmailWindow)
	sw, _ := json.Marshal(r.SMSWindow)
	texts, _ := json.Marshal(r.Texts)
	now := db.Now()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var id string
		var created int64
		err := tx.QueryRowContext(ctx, `/* dispatch.Store.SaveRule */ SELECT id, created_at FROM dispatch_rules WHERE tenant_id = $1 AND step_id = $2`,
			tenantID, r.StepID).Scan(&id, &created)
		switch err = db.Translate(err); {
		case errors.Is(err, db.ErrNotFound):
			r.ID, created = db.NewID(), now
		case err != nil:
			return fmt.Errorf("save rule: %w", err)
		default:
			r.ID = id
		}
		var exists int
		if err := tx.QueryRowContext(ctx, `/* dispatch.Store.SaveRule */ SELECT COUNT(*) FROM journey_steps WHERE tenant_id = $1 AND id = $2`,
			tenantID, r.StepID).Scan(&exists); err != nil {
			return fmt.Errorf("save rule: %w", err)
		}
		if exists == 0 {
			return problem("the journey step does not exist")
		}
		_, err = tx.ExecContext(ctx, `/* dispatch.Store.SaveRule */ INSERT INTO dispatch_rules (tenant_id, id, step_id, survey_id, enabled,
			delay_seconds, channels, email_window, sms_window, cap_days, reminder_days, reminders, sms_reminders, expiry_days,
			sample_percent, texts, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
			ON CONFLICT (tenant_id, id) DO UPDATE SET survey_id = excluded.survey_id, enabled = excluded.enabled,
			delay_seconds = excluded.delay_seconds, channels = excluded.channels, email_window = excluded.email_window,
			sms_window = excluded.sms_window, cap_days = excluded.cap_days, reminder_days = excluded.reminder_days,
			reminders = excluded.reminders, sms_reminders = excluded.sms_reminders, expiry_days = excluded.expiry_days,
			sample_percent = excluded.sample_percent, texts = excluded.texts, updated_at = excluded.updated_at`,
			tenantID, r.ID, r.StepID, r.SurveyID, r.Enabled, int64(r.Delay/time.Second), strings.Join(r.Channels, ","), string(ew), string(sw),
			r.CapDays, r.ReminderDays, r.Reminders, r.SMSReminders, r.ExpiryDays, r.SamplePercent, string(texts), created, now)
		if err != nil {
			return fmt.Errorf("save rule: %w", db.Translate(err))
		}
		r.CreatedAt, r.UpdatedAt = db.Time(created), db.Time(now)
		return s.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: actor, Action: "rule.save", ObjectKind: "rule", ObjectID: r.ID,
			Detail: map[string]string{"step": r.StepID, "survey": r.SurveyID, "enabled": fmt.Sprint(r.Enabled)}})
	})
	if err != nil {
		return Rule{}, err
	}
	s.rules.forget(tenantID)
	return r, nil
}

const ruleCols = `id, step_id, survey_id, enabled, delay_seconds, channels, email_window, sms_window, cap_days, reminder_days,
	reminders, sms_reminders, expiry_days, sample_percent, texts, created_at, updated_at`

func scanRule(sc interface{ Scan(...any) error }) (Rule, error) {
	var r Rule
	var delay, created, updated int64
	var channels, ew, sw, texts string
	if err := sc.Scan(&r.ID, &r.StepID, &r.SurveyID, &r.Enabled, &delay, &channels, &ew, &sw, &r.CapDays, &r.ReminderDays,
		&r.Reminders, &r.SMSReminders, &r.ExpiryDays, &r.SamplePercent, &texts, &created, &updated); err != nil {
		return Rule{}, err
	}
	r.Delay = time.Duration(delay) * time.Second
	r.Channels = strings.Split(channels, ",")
	if err := json.Unmarshal([]byte(ew), &r.EmailWindow); err != nil {
		return Rule{}, fmt.Errorf("rule %s email window: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(sw), &r.SMSWindow); err != nil {
		return Rule{}, fmt.Errorf("rule %s SMS window: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(texts), &r.Texts); err != nil {
		return Rule{}, fmt.Errorf("rule %s texts: %w", r.ID, err)
	}
	if r.Texts == nil {
		r.Texts = map[string]Texts{}
	}
	r.CreatedAt, r.UpdatedAt = db.Time(created), db.Time(updated)
	return r, nil
}

// Rules lists the tenant's rules.
func (s *Store) Rules(ctx context.Context, tenantID string) ([]Rule, error) {
	rows, err := s.db.R.QueryContext(ctx, `/* dispatch.Store.Rules */ SELECT `+ruleCols+` FROM dispatch_rules WHERE tenant_id = $1 ORDER BY created_at, id`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	defer rows.Close()
	var out []Rule
	for rows.Next() {
		r, err := scanRule(rows)
		if err != nil {
			return nil, fmt.Errorf("rules: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Rule returns one rule of the tenant by id (db.ErrNotFound otherwise).
func (s *Store) Rule(ctx context.Context, tenantID, id string) (Rule, error) {
	r, err := scanRule(s.db.R.QueryRowContext(ctx, `/* dispatch.Store.Rule */ SELECT `+ruleCols+` FROM dispatch_rules WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if err != nil {
		return Rule{}, fmt.Errorf("rule: %w", db.Translate(err))
	}
	return r, nil
}

// ruleForStep reads the rule of a step through q; ErrNoRule when none.
func (s *Store) ruleForStep(ctx context.Context, q db.Querier, tenantID, stepID string) (Rule, error) {
	r, err := scanRule(q.QueryRowContext(ctx, `/* dispatch.Store.ruleForStep */ SELECT `+ruleCols+` FROM dispatch_rules WHERE tenant_id = $1 AND step_id = $2`, tenantID, stepID))
	if err = db.Translate(err); errors.Is(err, db.ErrNotFound) {
		return Rule{}, ErrNoRule
	}
	if err != nil {
		return Rule{}, fmt.Errorf("rule of step: %w", err)
	}
	return r, nil
}

// DeleteRule deletes a rule. Invitations it scheduled and not yet sent are
// cancelled when their time comes (status failed, reason rule_deleted).
func (s *Store) DeleteRule(ctx context.Context, actor audit.Actor, tenantID, id string) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `/* dispatch.Store.DeleteRule */ DELETE FROM dispatch_rules WHERE tenant_id = $1 AND id = $2`, tenantID, id)
		if err != nil {
			return fmt.Errorf("delete rule: %w", db.Translate(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return db.ErrNotFound
		}
		return s.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: actor, Action: "rule.delete", ObjectKind: "rule", ObjectID: id})
	})
	s.rules.forget(tenantID)
	return err
}
