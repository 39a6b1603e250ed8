package survey

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"avis/internal/audit"
	"avis/internal/db"
)

// Status is where a survey is in its life.
type Status string

// Survey statuses.
const (
	// StatusDraft surveys are being written; nobody is invited to them yet.
	StatusDraft Status = "draft"
	// StatusActive surveys may be sent.
	StatusActive Status = "active"
	// StatusArchived surveys are kept for their results but no longer sent.
	StatusArchived Status = "archived"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	return s == StatusDraft || s == StatusActive || s == StatusArchived
}

// ErrInvalidStatus is returned by SetStatus for an unknown status.
var ErrInvalidStatus = errors.New("a survey status is draft, active or archived")

// ErrInUse refuses to delete a survey that has answers, or that a rule or
// an invitation names: archive it instead.
var ErrInUse = errors.New("the survey has answers or is used by an invitation rule: archive it instead of deleting it")

// Survey is a stored survey.
type Survey struct {
	ID     string
	Name   string
	Status Status
	// CurrentVersion is the number of the version in use (from 1).
	CurrentVersion int
	CreatedAt      time.Time
	UpdatedAt      time.Time
	// Definition is the current version's definition; List leaves it nil.
	Definition *Definition
}

// Version is one immutable version of a survey's definition.
type Version struct {
	SurveyID string
	// Version numbers the versions of a survey from 1.
	Version int
	// Definition is nil in the lists of Versions.
	Definition *Definition
	CreatedAt  time.Time
	// CreatedBy is the actor who saved the version, as kind:id.
	CreatedBy string
}

// Store reads and writes surveys and their versions, always within one
// tenant.
type Store struct {
	db    *db.DB
	audit *audit.Log
	// defs caches parsed versions for Definition; rq keeps the queries of
	// the survey page prepared.
	defs defCache
	rq   *db.Stmts
}

// NewStore returns a Store.
func NewStore(d *db.DB, a *audit.Log) *Store { return &Store{db: d, audit: a, rq: db.NewStmts(d.R)} }

func actorRef(a audit.Actor) string { return a.Kind + ":" + a.ID }

func defDetail(def *Definition, version int) map[string]string {
	return map[string]string{
		"version":   strconv.Itoa(version),
		"pages":     strconv.Itoa(len(def.Pages)),
		"questions": strconv.Itoa(def.QuestionCount()),
	}
}

// prepare validates a definition and returns its stored form.
func prepare(def *Definition) ([]byte, error) {
	if def == nil {
		return nil, ValidationErrors{{Problem: "no survey definition given"}}
	}
	if err := def.Validate(); err != nil {
		return nil, err
	}
	return canonical(def)
}

// Create stores a new survey, as a draft, with def as its version 1. A
// definition that breaks the rules of Validate is refused with its
// ValidationErrors.
func (s *Store) Create(ctx context.Context, actor audit.Actor, tenantID string, def *Definition) (Survey, error) {
	doc, err := prepare(def)
	if err != nil {
		return Survey{}, err
	}
	now := db.Now()
	sv := Survey{ID: db.NewID(), Name: def.Name, Status: StatusDraft, CurrentVersion: 1,
		CreatedAt: db.Time(now), UpdatedAt: db.Time(now), Definition: def}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `/* survey.Store.Create */ INSERT INTO surveys
			(tenant_id, id, name, status, current_version, created_at, updated_at) VALUES ($1, $2, $3, $4, 1, $5, $5)`,
			tenantID, sv.ID, sv.Name, string(sv.Status), now); err != nil {
			return db.Translate(err)
		}
		if err := insertVersion(ctx, tx, tenantID, sv.ID, 1, doc, now, actor); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: actor, Action: "survey.create",
			ObjectKind: "survey", ObjectID: sv.ID, Detail: defDetail(def, 1)})
	})
	if err != nil {
		return Survey{}, fmt.Errorf("create survey: %w", err)
	}
	return sv, nil
}

func insertVersion(ctx context.Context, tx *sql.Tx, tenantID, surveyID string, version int, doc []byte, now int64, actor audit.Actor) error {
	_, err := tx.ExecContext(ctx, `/* survey.Store.insertVersion */ INSERT INTO survey_versions
		(tenant_id, survey_id, version, definition, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6)`,
		tenantID, surveyID, version, string(doc), now, actorRef(actor))
	if err != nil {
		return fmt.Errorf("version %d: %w", version, db.Translate(err))
	}
	return nil
}

// readDefinition decodes a stored definition without the checks of
// Validate, so that a rule made stricter later never hides an old version.
func readDefinition(doc string) (*Definition, error) {
	d, err := decode([]byte(doc))
	if err != nil {
		return nil, fmt.Errorf("stored definition cannot be read: %w", err)
	}
	return d, nil
}

// Get returns a survey of the tenant with its current definition, or
// db.ErrNotFound.
func (s *Store) Get(ctx context.Context, tenantID, id string) (Survey, error) {
	var sv Survey
	var status, doc string
	var created, updated int64
	err := s.db.R.QueryRowContext(ctx, `/* survey.Store.Get */ SELECT s.id, s.name, s.status, s.current_version,
		s.created_at, s.updated_at, v.definition
		FROM surveys s JOIN survey_versions v ON v.tenant_id = s.tenant_id AND v.survey_id = s.id AND v.version = s.current_version
		WHERE s.tenant_id = $1 AND s.id = $2`, tenantID, id).
		Scan(&sv.ID, &sv.Name, &status, &sv.CurrentVersion, &created, &updated, &doc)
	if err != nil {
		return Survey{}, fmt.Errorf("get survey: %w", db.Translate(err))
	}
	sv.Status, sv.CreatedAt, sv.UpdatedAt = Status(status), db.Time(created), db.Time(updated)
	if sv.Definition, err = readDefinition(doc); err != nil {
		return Survey{}, fmt.Errorf("get survey %s: %w", sv.ID, err)
	}
	return sv, nil
}

// Version returns one version of a survey of the tenant, or db.ErrNotFound.
func (s *Store) Version(ctx context.Context, tenantID, id string, version int) (Version, error) {
	v := Version{SurveyID: id, Version: version}
	var doc string
	var created int64
	err := s.db.R.QueryRowContext(ctx, `/* survey.Store.Version */ SELECT definition, created_at, created_by
		FROM survey_versions WHERE tenant_id = $1 AND survey_id = $2 AND version = $3`, tenantID, id, version).
		Scan(&doc, &created, &v.CreatedBy)
	if err != nil {
		return Version{}, fmt.Errorf("survey version: %w", db.Translate(err))
	}
	v.CreatedAt = db.Time(created)
	if v.Definition, err = readDefinition(doc); err != nil {
		return Version{}, fmt.Errorf("survey %s version %d: %w", id, version, err)
	}
	return v, nil
}

// Versions lists the versions of a survey of the tenant, oldest first,
// without their definitions; db.ErrNotFound when the tenant has no such
// survey.
func (s *Store) Versions(ctx context.Context, tenantID, id string) ([]Version, error) {
	rows, err := s.db.R.QueryContext(ctx, `/* survey.Store.Versions */ SELECT version, created_at, created_by
		FROM survey_versions WHERE tenant_id = $1 AND survey_id = $2 ORDER BY version`, tenantID, id)
	if err != nil {
		return nil, fmt.Errorf("survey versions: %w", err)
	}
	defer rows.Close()
	var out []Version
	for rows.Next() {
		v := Version{SurveyID: id}
		var created int64
		if err := rows.Scan(&v.Version, &created, &v.CreatedBy); err != nil {
			return nil, fmt.Errorf("survey versions: %w", err)
		}
		v.CreatedAt = db.Time(created)
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("survey versions: %w", err)
	}
	if len(out) == 0 {
		// Every survey has a version 1: none means no such survey here.
		return nil, fmt.Errorf("survey versions: %w", db.ErrNotFound)
	}
	return out, nil
}

// List returns the tenant's surveys, oldest first, without their
// definitions.
func (s *Store) List(ctx context.Context, tenantID string) ([]Survey, error) {
	rows, err := s.db.R.QueryContext(ctx, `/* survey.Store.List */ SELECT id, name, status, current_version, created_at, updated_at
		FROM surveys WHERE tenant_id = $1 ORDER BY id`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list surveys: %w", err)
	}
	defer rows.Close()
	var out []Survey
	for rows.Next() {
		var sv Survey
		var status string
		var created, updated int64
		if err := rows.Scan(&sv.ID, &sv.Name, &status, &sv.CurrentVersion, &created, &updated); err != nil {
			return nil, fmt.Errorf("list surveys: %w", err)
		}
		sv.Status, sv.CreatedAt, sv.UpdatedAt = Status(status), db.Time(created), db.Time(updated)
		out = append(out, sv)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list surveys: %w", err)
	}
	return out, nil
}

// lock takes the write lock on a survey's row (on PostgreSQL a row lock
// until the transaction ends; SQLite has a single writer) and returns
// db.ErrNotFound when the tenant has no such survey.
func lock(ctx context.Context, tx *sql.Tx, tenantID, id string) error {
	res, err := tx.ExecContext(ctx, `/* survey.Store.lock */ UPDATE surveys SET updated_at = updated_at WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	if err != nil {
		return db.Translate(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return db.ErrNotFound
	}
	return nil
}

// Update saves def as the survey's new current version and returns its
// number. When def is the same as the current definition nothing is
// written and the current version number is returned. Versions are never
// changed: a response keeps pointing at the questions it answered.
func (s *Store) Update(ctx context.Context, actor audit.Actor, tenantID, id string, def *Definition) (int, error) {
	doc, err := prepare(def)
	if err != nil {
		return 0, err
	}
	var version int
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := lock(ctx, tx, tenantID, id); err != nil {
			return err
		}
		var current string
		if err := tx.QueryRowContext(ctx, `/* survey.Store.Update */ SELECT s.current_version, v.definition
			FROM surveys s JOIN survey_versions v ON v.tenant_id = s.tenant_id AND v.survey_id = s.id AND v.version = s.current_version
			WHERE s.tenant_id = $1 AND s.id = $2`, tenantID, id).Scan(&version, &current); err != nil {
			return db.Translate(err)
		}
		if same(current, doc) {
			return nil
		}
		// Versions are numbered after the highest ever saved, not the current one.
		if err := tx.QueryRowContext(ctx, `/* survey.Store.Update */ SELECT max(version) FROM survey_versions
			WHERE tenant_id = $1 AND survey_id = $2`, tenantID, id).Scan(&version); err != nil {
			return db.Translate(err)
		}
		version++
		now := db.Now()
		if err := insertVersion(ctx, tx, tenantID, id, version, doc, now, actor); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `/* survey.Store.Update */ UPDATE surveys SET name = $3, current_version = $4, updated_at = $5
			WHERE tenant_id = $1 AND id = $2`, tenantID, id, def.Name, version, now); err != nil {
			return db.Translate(err)
		}
		return s.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: actor, Action: "survey.update",
			ObjectKind: "survey", ObjectID: id, Detail: defDetail(def, version)})
	})
	if err != nil {
		return 0, fmt.Errorf("update survey: %w", err)
	}
	return version, nil
}

// same reports whether a stored definition is the same as a new one in
// stored form. Stored documents are compared as read back, so that a
// version written by an older avis (with another field order) still
// compares equal.
func same(stored string, doc []byte) bool {
	if stored == string(doc) {
		return true
	}
	d, err := decode([]byte(stored))
	if err != nil {
		return false
	}
	again, err := canonical(d)
	return err == nil && bytes.Equal(again, doc)
}

// SetStatus moves a survey to draft, active or archived. Setting the
// status it already has writes nothing.
func (s *Store) SetStatus(ctx context.Context, actor audit.Actor, tenantID, id string, status Status) error {
	if !status.Valid() {
		return ErrInvalidStatus
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := lock(ctx, tx, tenantID, id); err != nil {
			return err
		}
		var old string
		if err := tx.QueryRowContext(ctx, `/* survey.Store.SetStatus */ SELECT status FROM surveys WHERE tenant_id = $1 AND id = $2`,
			tenantID, id).Scan(&old); err != nil {
			return db.Translate(err)
		}
		if Status(old) == status {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `/* survey.Store.SetStatus */ UPDATE surveys SET status = $3, updated_at = $4
			WHERE tenant_id = $1 AND id = $2`, tenantID, id, string(status), db.Now()); err != nil {
			return db.Translate(err)
		}
		return s.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: actor, Action: "survey.status",
			ObjectKind: "survey", ObjectID: id, Detail: map[string]string{"from": old, "to": string(status)}})
	})
	if err != nil {
		return fmt.Errorf("set survey status: %w", err)
	}
	return nil
}

// Delete removes a survey of the tenant and all its versions.
func (s *Store) Delete(ctx context.Context, actor audit.Actor, tenantID, id string) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := lock(ctx, tx, tenantID, id); err != nil {
			return err
		}
		// Answers keep the questions they answered, and a rule or an
		// invitation that names the survey must find it.
		var used int
		if err := tx.QueryRowContext(ctx, `/* survey.Store.Delete */ SELECT
			(SELECT count(*) FROM (SELECT 1 FROM responses WHERE tenant_id = $1 AND survey_id = $2 LIMIT 1) r) +
			(SELECT count(*) FROM (SELECT 1 FROM dispatch_rules WHERE tenant_id = $1 AND survey_id = $2 LIMIT 1) d) +
			(SELECT count(*) FROM (SELECT 1 FROM invitations WHERE tenant_id = $1 AND survey_id = $2 LIMIT 1) i)`,
			tenantID, id).Scan(&used); err != nil {
			return db.Translate(err)
		}
		if used > 0 {
			return ErrInUse
		}
		res, err := tx.ExecContext(ctx, `/* survey.Store.Delete */ DELETE FROM survey_versions WHERE tenant_id = $1 AND survey_id = $2`, tenantID, id)
		if err != nil {
			return db.Translate(err)
		}
		versions, _ := res.RowsAffected()
		if _, err := tx.ExecContext(ctx, `/* survey.Store.Delete */ DELETE FROM surveys WHERE tenant_id = $1 AND id = $2`, tenantID, id); err != nil {
			return db.Translate(err)
		}
		return s.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: actor, Action: "survey.delete",
			ObjectKind: "survey", ObjectID: id, Detail: map[string]string{"versions": strconv.FormatInt(versions, 10)}})
	})
	s.defs.forget(tenantID, id)
	if err != nil {
		return fmt.Errorf("delete survey: %w", err)
	}
	return nil
}
