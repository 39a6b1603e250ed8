package account

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"avis/internal/audit"
	"avis/internal/db"
)

// slugPattern is the shape of a tenant slug: it appears in URLs.
var slugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$`)

// ValidSlug reports whether s may be a tenant slug.
func ValidSlug(s string) bool { return slugPattern.MatchString(s) }

// cleanName trims a display name and checks it is 1 to 200 characters.
func cleanName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 200 || !utf8.ValidString(name) {
		return "", ErrInvalidName
	}
	return name, nil
}

const tenantColumns = `id, slug, name, default_language, require_mfa, created_at`

func scanTenant(row interface{ Scan(...any) error }) (Tenant, error) {
	var t Tenant
	var created int64
	if err := row.Scan(&t.ID, &t.Slug, &t.Name, &t.DefaultLanguage, &t.RequireMFA, &created); err != nil {
		return Tenant{}, err
	}
	t.CreatedAt = db.Time(created)
	return t, nil
}

// CreateTenant creates a tenant. The slug must match
// ^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$ (ErrInvalidSlug) and be free
// (ErrSlugTaken).
func (s *Store) CreateTenant(ctx context.Context, actor audit.Actor, slug, name string) (Tenant, error) {
	if !ValidSlug(slug) {
		return Tenant{}, fmt.Errorf("create tenant: %q: %w", slug, ErrInvalidSlug)
	}
	name, err := cleanName(name)
	if err != nil {
		return Tenant{}, fmt.Errorf("create tenant: %w", err)
	}
	t := Tenant{ID: db.NewID(), Slug: slug, Name: name, DefaultLanguage: "fr", CreatedAt: db.Time(db.Stamp(s.now()))}
	err = s.d.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `/* account.Store.CreateTenant */
			INSERT INTO tenants (id, slug, name, default_language, require_mfa, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`,
			t.ID, t.Slug, t.Name, t.DefaultLanguage, false, db.Stamp(t.CreatedAt))
		if err != nil {
			if err = db.Translate(err); errors.Is(err, db.ErrConflict) {
				return ErrSlugTaken
			}
			return err
		}
		return s.audit.Record(ctx, tx, audit.Entry{
			TenantID: t.ID, Actor: actor, Action: "tenant.create",
			ObjectKind: "tenant", ObjectID: t.ID,
		})
	})
	if err != nil {
		if errors.Is(err, ErrSlugTaken) {
			return Tenant{}, fmt.Errorf("create tenant %q: %w", slug, ErrSlugTaken)
		}
		return Tenant{}, fmt.Errorf("create tenant: %w", err)
	}
	return t, nil
}

// TenantBySlug returns the tenant with the slug, or db.ErrNotFound.
func (s *Store) TenantBySlug(ctx context.Context, slug string) (Tenant, error) {
	t, err := scanTenant(s.d.R.QueryRowContext(ctx, `/* account.Store.TenantBySlug */
		SELECT `+tenantColumns+` FROM tenants WHERE slug = $1`, slug))
	if err != nil {
		return Tenant{}, fmt.Errorf("tenant %q: %w", slug, db.Translate(err))
	}
	return t, nil
}

// TenantByID returns the tenant with the id, or db.ErrNotFound.
func (s *Store) TenantByID(ctx context.Context, id string) (Tenant, error) {
	t, err := scanTenant(s.d.R.QueryRowContext(ctx, `/* account.Store.TenantByID */
		SELECT `+tenantColumns+` FROM tenants WHERE id = $1`, id))
	if err != nil {
		return Tenant{}, fmt.Errorf("tenant %s: %w", id, db.Translate(err))
	}
	return t, nil
}

// SetRequireMFA turns on or off the rule that every member of the tenant
// logs in with a second factor.
func (s *Store) SetRequireMFA(ctx context.Context, actor audit.Actor, tenantID string, on bool) error {
	err := s.d.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `/* account.Store.SetRequireMFA */
			UPDATE tenants SET require_mfa = $2 WHERE id = $1`, tenantID, on)
		if err != nil {
			return err
		}
		if err := oneRow(res); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Entry{
			TenantID: tenantID, Actor: actor, Action: "tenant.require_mfa",
			ObjectKind: "tenant", ObjectID: tenantID,
			Detail: map[string]string{"on": strconv.FormatBool(on)},
		})
	})
	if err != nil {
		return fmt.Errorf("set require MFA of tenant %s: %w", tenantID, err)
	}
	return nil
}

// lockTenant takes the write lock of the tenant's row for the rest of the
// transaction (a no-op update: SQLite has one writer anyway, PostgreSQL
// locks the row), so that owner counts cannot race. It returns
// db.ErrNotFound for an unknown tenant.
func lockTenant(ctx context.Context, tx *sql.Tx, tenantID string) error {
	res, err := tx.ExecContext(ctx, `/* account.lockTenant */
		UPDATE tenants SET require_mfa = require_mfa WHERE id = $1`, tenantID)
	if err != nil {
		return err
	}
	return oneRow(res)
}

// oneRow returns db.ErrNotFound when the statement changed no row.
func oneRow(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return db.ErrNotFound
	}
	return nil
}
