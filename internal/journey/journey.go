// Package journey holds a tenant's customer journeys (Online order →
// Delivery → After-sales), their steps, and the touchpoints: the events of
// each contact's journey, which later trigger invitations.
package journey

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"avis/internal/audit"
	"avis/internal/db"
	"avis/internal/feed"
)

// Journey is a named sequence of steps.
type Journey struct {
	ID        string
	Name      string
	Steps     []Step
	CreatedAt time.Time
}

// Step is one step of a journey. Events name it by Key.
type Step struct {
	ID        string
	JourneyID string
	Key       string
	Name      string
	Position  int
}

// StepInput describes a step to create.
type StepInput struct{ Key, Name string }

// Errors callers tell apart.
var (
	ErrInvalidKey       = errors.New("a step key is 1 to 64 lower-case letters, digits, '_', '-' or '.', starting with a letter or digit")
	ErrInvalidName      = errors.New("give a name of 1 to 100 characters")
	ErrUnknownStep      = errors.New("no step has this key: create it first, or check the spelling")
	ErrInvalidAttribute = errors.New("event attributes: at most 20, keys of letters, digits and '_', values of at most 200 characters, and no personal data (no email address or phone number)")
)

var (
	keyPattern  = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)
	attrKey     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,39}$`)
	phoneLike   = regexp.MustCompile(`(^|[^0-9])(\+|00|0)[1-9]([ .\-]?[0-9]){7,}`)
	maxAttrs    = 20
	maxAttrSize = 200
)

// Store reads and writes journeys and touchpoints.
type Store struct {
	db    *db.DB
	audit *audit.Log

	mu        sync.Mutex
	stepNames map[string]string // "tenant/step" → name, see StepName
}

// NewStore returns a Store.
func NewStore(d *db.DB, a *audit.Log) *Store {
	return &Store{db: d, audit: a, stepNames: map[string]string{}}
}

func cleanName(s string) (string, error) {
	s = strings.TrimSpace(s)
	// Text only: no column may hold invalid UTF-8 or NUL on PostgreSQL.
	if s == "" || utf8.RuneCountInString(s) > 100 || !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) {
		return "", ErrInvalidName
	}
	return s, nil
}

// CreateJourney creates a journey with its steps in order. A step key is
// unique in the tenant: db.ErrConflict when taken.
func (s *Store) CreateJourney(ctx context.Context, actor audit.Actor, tenantID, name string, steps []StepInput) (Journey, error) {
	name, err := cleanName(name)
	if err != nil {
		return Journey{}, err
	}
	j := Journey{ID: db.NewID(), Name: name, CreatedAt: db.Time(db.Now())}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `/* journey.Store.CreateJourney */ INSERT INTO journeys (tenant_id, id, name, created_at)
			VALUES ($1, $2, $3, $4)`, tenantID, j.ID, name, db.Stamp(j.CreatedAt)); err != nil {
			return db.Translate(err)
		}
		for _, in := range steps {
			st, err := s.addStep(ctx, tx, tenantID, j.ID, in, len(j.Steps))
			if err != nil {
				return err
			}
			j.Steps = append(j.Steps, st)
		}
		return s.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: actor, Action: "journey.create", ObjectKind: "journey",
			ObjectID: j.ID, Detail: map[string]string{"steps": fmt.Sprint(len(j.Steps))}})
	})
	if err != nil {
		return Journey{}, fmt.Errorf("create journey: %w", err)
	}
	return j, nil
}

// AddStep appends a step to a journey of the tenant.
func (s *Store) AddStep(ctx context.Context, actor audit.Actor, tenantID, journeyID string, in StepInput) (Step, error) {
	var st Step
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `/* journey.Store.AddStep */ SELECT count(*) FROM journeys WHERE tenant_id = $1 AND id = $2`, tenantID, journeyID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return db.ErrNotFound
		}
		if err := tx.QueryRowContext(ctx, `/* journey.Store.AddStep */ SELECT count(*) FROM journey_steps WHERE tenant_id = $1 AND journey_id = $2`, tenantID, journeyID).Scan(&n); err != nil {
			return err
		}
		var err error
		if st, err = s.addStep(ctx, tx, tenantID, journeyID, in, n); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: actor, Action: "journey.step.add", ObjectKind: "step", ObjectID: st.ID})
	})
	if err != nil {
		return Step{}, fmt.Errorf("add step: %w", err)
	}
	return st, nil
}

func (s *Store) addStep(ctx context.Context, tx *sql.Tx, tenantID, journeyID string, in StepInput, pos int) (Step, error) {
	key := strings.TrimSpace(in.Key)
	if !keyPattern.MatchString(key) {
		return Step{}, ErrInvalidKey
	}
	name, err := cleanName(in.Name)
	if err != nil {
		return Step{}, err
	}
	st := Step{ID: db.NewID(), JourneyID: journeyID, Key: key, Name: name, Position: pos}
	_, err = tx.ExecContext(ctx, `/* journey.Store.addStep */ INSERT INTO journey_steps (tenant_id, id, journey_id, key, name, position, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, tenantID, st.ID, journeyID, key, name, pos, db.Now())
	if err != nil {
		return Step{}, fmt.Errorf("step %s: %w", key, db.Translate(err))
	}
	return st, nil
}

// Journeys lists the tenant's journeys with their steps.
func (s *Store) Journeys(ctx context.Context, tenantID string) ([]Journey, error) {
	rows, err := s.db.R.QueryContext(ctx, `/* journey.Store.Journeys */ SELECT id, name, created_at FROM journeys WHERE tenant_id = $1 ORDER BY id`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list journeys: %w", err)
	}
	var out []Journey
	idx := map[string]int{}
	for rows.Next() {
		var j Journey
		var at int64
		if err := rows.Scan(&j.ID, &j.Name, &at); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list journeys: %w", err)
		}
		j.CreatedAt = db.Time(at)
		idx[j.ID] = len(out)
		out = append(out, j)
	}
	rows.Close()
	rows, err = s.db.R.QueryContext(ctx, `/* journey.Store.Journeys */ SELECT id, journey_id, key, name, position FROM journey_steps
		WHERE tenant_id = $1 ORDER BY journey_id, position`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list steps: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var st Step
		if err := rows.Scan(&st.ID, &st.JourneyID, &st.Key, &st.Name, &st.Position); err != nil {
			return nil, fmt.Errorf("list steps: %w", err)
		}
		if i, ok := idx[st.JourneyID]; ok {
			out[i].Steps = append(out[i].Steps, st)
		}
	}
	return out, rows.Err()
}

// StepByKey finds a step of the tenant by its key: ErrUnknownStep when none.
func (s *Store) StepByKey(ctx context.Context, tenantID, key string) (Step, error) {
	var st Step
	err := s.db.R.QueryRowContext(ctx, `/* journey.Store.StepByKey */ SELECT id, journey_id, key, name, position FROM journey_steps
		WHERE tenant_id = $1 AND key = $2`, tenantID, key).Scan(&st.ID, &st.JourneyID, &st.Key, &st.Name, &st.Position)
	if errors.Is(db.Translate(err), db.ErrNotFound) {
		return Step{}, ErrUnknownStep
	}
	if err != nil {
		return Step{}, fmt.Errorf("step: %w", err)
	}
	return st, nil
}

// Event is something that happened in a contact's journey.
type Event struct {
	ContactID  string
	StepKey    string
	OccurredAt time.Time
	// Attributes are non-personal facts about the event (order amount,
	// store, product); they are kept in clear for analysis.
	Attributes map[string]string
	// IdempotencyKey makes a retried event land once.
	IdempotencyKey string
	SourceKind     string
	SourceID       string
}

// Touchpoint is a stored event.
type Touchpoint struct {
	ID         string
	ContactID  string
	StepID     string
	StepKey    string
	OccurredAt time.Time
	Attributes map[string]string
}

// CheckAttributes refuses event attributes that are too many, too long, or
// look like personal data.
func CheckAttributes(attrs map[string]string) error {
	if len(attrs) > maxAttrs {
		return ErrInvalidAttribute
	}
	for k, v := range attrs {
		if !attrKey.MatchString(k) || len(v) > maxAttrSize || strings.Contains(v, "@") || phoneLike.MatchString(v) {
			return fmt.Errorf("%w (attribute %q)", ErrInvalidAttribute, k)
		}
	}
	return nil
}

// Record stores an event as a touchpoint of the contact, in tx. An event
// whose idempotency key was already recorded is not stored again: the first
// touchpoint is returned with created false.
func (s *Store) Record(ctx context.Context, tx *sql.Tx, tenantID string, e Event) (tp Touchpoint, created bool, err error) {
	if err := CheckAttributes(e.Attributes); err != nil {
		return Touchpoint{}, false, err
	}
	if len(e.IdempotencyKey) > 200 {
		return Touchpoint{}, false, errors.New("idempotency key: at most 200 characters")
	}
	var st Step
	err = tx.QueryRowContext(ctx, `/* journey.Store.Record */ SELECT id, key FROM journey_steps WHERE tenant_id = $1 AND key = $2`,
		tenantID, e.StepKey).Scan(&st.ID, &st.Key)
	if errors.Is(db.Translate(err), db.ErrNotFound) {
		return Touchpoint{}, false, ErrUnknownStep
	}
	if err != nil {
		return Touchpoint{}, false, fmt.Errorf("record event: %w", err)
	}
	if e.IdempotencyKey != "" {
		tp, err := s.byIdempotency(ctx, tx, tenantID, e.IdempotencyKey)
		if err == nil {
			return tp, false, nil
		}
		if !errors.Is(err, db.ErrNotFound) {
			return Touchpoint{}, false, err
		}
	}
	if e.OccurredAt.IsZero() {
		e.OccurredAt = time.Now()
	}
	attrs := "{}"
	if len(e.Attributes) > 0 {
		b, _ := json.Marshal(e.Attributes)
		attrs = string(b)
	}
	tp = Touchpoint{ID: db.NewID(), ContactID: e.ContactID, StepID: st.ID, StepKey: st.Key, OccurredAt: e.OccurredAt.UTC(), Attributes: e.Attributes}
	seq, err := feed.Reserve(ctx, tx, tenantID, 1)
	if err != nil {
		return Touchpoint{}, false, fmt.Errorf("record event: %w", err)
	}
	_, err = tx.ExecContext(ctx, `/* journey.Store.Record */ INSERT INTO touchpoints (tenant_id, id, contact_id, step_id, occurred_at,
		attributes, idempotency_key, source_kind, source_id, created_at, sync_seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		tenantID, tp.ID, e.ContactID, st.ID, db.Stamp(e.OccurredAt), attrs, e.IdempotencyKey, e.SourceKind, e.SourceID, db.Now(), seq)
	if err != nil {
		return Touchpoint{}, false, fmt.Errorf("record event: %w", db.Translate(err))
	}
	return tp, true, nil
}

func (s *Store) byIdempotency(ctx context.Context, q db.Querier, tenantID, key string) (Touchpoint, error) {
	var tp Touchpoint
	var at int64
	var attrs string
	err := q.QueryRowContext(ctx, `/* journey.Store.byIdempotency */ SELECT t.id, t.contact_id, t.step_id, s.key, t.occurred_at, t.attributes
		FROM touchpoints t JOIN journey_steps s ON s.tenant_id = t.tenant_id AND s.id = t.step_id
		WHERE t.tenant_id = $1 AND t.idempotency_key = $2`, tenantID, key).Scan(&tp.ID, &tp.ContactID, &tp.StepID, &tp.StepKey, &at, &attrs)
	if err != nil {
		return Touchpoint{}, db.Translate(err)
	}
	tp.OccurredAt = db.Time(at)
	_ = json.Unmarshal([]byte(attrs), &tp.Attributes)
	return tp, nil
}

// Touchpoints lists a contact's touchpoints, oldest first.
func (s *Store) Touchpoints(ctx context.Context, tenantID, contactID string) ([]Touchpoint, error) {
	rows, err := s.db.R.QueryContext(ctx, `/* journey.Store.Touchpoints */ SELECT t.id, t.contact_id, t.step_id, s.key, t.occurred_at, t.attributes
		FROM touchpoints t JOIN journey_steps s ON s.tenant_id = t.tenant_id AND s.id = t.step_id
		WHERE t.tenant_id = $1 AND t.contact_id = $2 ORDER BY t.occurred_at, t.id`, tenantID, contactID)
	if err != nil {
		return nil, fmt.Errorf("touchpoints: %w", err)
	}
	defer rows.Close()
	var out []Touchpoint
	for rows.Next() {
		var tp Touchpoint
		var at int64
		var attrs string
		if err := rows.Scan(&tp.ID, &tp.ContactID, &tp.StepID, &tp.StepKey, &at, &attrs); err != nil {
			return nil, fmt.Errorf("touchpoints: %w", err)
		}
		tp.OccurredAt = db.Time(at)
		_ = json.Unmarshal([]byte(attrs), &tp.Attributes)
		out = append(out, tp)
	}
	return out, rows.Err()
}
