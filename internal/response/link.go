package response

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	"strconv"

	"avis/internal/audit"
	"avis/internal/db"
)

// PublicLink reports whether the tenant switched a survey's public link
// on.
func (s *Store) PublicLink(ctx context.Context, tenantID, surveyID string) (bool, error) {
	var on bool
	err := s.db.R.QueryRowContext(ctx, `/* response.Store.PublicLink */ SELECT enabled FROM survey_links
		WHERE tenant_id = $1 AND survey_id = $2`, tenantID, surveyID).Scan(&on)
	if err = db.Translate(err); err == db.ErrNotFound {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("public link: %w", err)
	}
	return on, nil
}

// SetPublicLink switches a survey's public link on or off. The caller
// checks that the survey is the tenant's.
func (s *Store) SetPublicLink(ctx context.Context, actor audit.Actor, tenantID, surveyID string, on bool) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `/* response.Store.SetPublicLink */ INSERT INTO survey_links (tenant_id, survey_id, enabled, updated_at)
			VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, survey_id) DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at`,
			tenantID, surveyID, on, db.Now())
		if err != nil {
			return db.Translate(err)
		}
		return s.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: actor, Action: "survey.public_link",
			ObjectKind: "survey", ObjectID: surveyID, Detail: map[string]string{"enabled": strconv.FormatBool(on)}})
	})
	if err != nil {
		return fmt.Errorf("set public link: %w", err)
	}
	return nil
}

// PublicSurvey returns the tenant of a survey whose public link is on;
// db.ErrNotFound when the survey is unknown or its link is off.
func (s *Store) PublicSurvey(ctx context.Context, surveyID string) (tenantID string, err error) {
	if !db.ValidID(surveyID) {
		return "", fmt.Errorf("public survey: %w", db.ErrNotFound)
	}
	var on bool
	err = s.db.R.QueryRowContext(ctx, `/* response.Store.PublicSurvey */ SELECT tenant_id, enabled FROM survey_links WHERE survey_id = $1`,
		surveyID).Scan(&tenantID, &on)
	if err == nil && !on {
		err = db.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("public survey: %w", db.Translate(err))
	}
	return tenantID, nil
}

// NewResumeToken returns a random resume token for a public-link
// response: 16 random bytes, base64url (22 characters).
func NewResumeToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
