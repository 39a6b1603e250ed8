package contact

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"avis/internal/audit"
	"avis/internal/db"
)

// Attribute is a segment attribute a tenant declares (store, product,
// region, agent…). A personal one is sealed in the vault with the rest of the
// contact; one that is not is kept in clear for analysis.
type Attribute struct {
	Name     string
	Label    string
	Personal bool
}

// ErrInvalidAttribute says an attribute name cannot be used.
var ErrInvalidAttribute = errors.New("an attribute name is 1 to 40 lower-case letters, digits or underscores, starting with a letter")

var attrName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// FieldSealedAttributes is the vault field of a contact's personal
// attributes.
const FieldSealedAttributes = "attributes"

// Attributes returns the tenant's declared attributes by name.
func (s *Store) Attributes(ctx context.Context, tenantID string) (map[string]Attribute, error) {
	return s.attributes(ctx, s.db.R, tenantID)
}

func (s *Store) attributes(ctx context.Context, q db.Querier, tenantID string) (map[string]Attribute, error) {
	rows, err := q.QueryContext(ctx, `/* contact.Store.Attributes */ SELECT name, label, personal FROM contact_attributes WHERE tenant_id = $1`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("attributes: %w", err)
	}
	defer rows.Close()
	out := map[string]Attribute{}
	for rows.Next() {
		var a Attribute
		if err := rows.Scan(&a.Name, &a.Label, &a.Personal); err != nil {
			return nil, fmt.Errorf("attributes: %w", err)
		}
		out[a.Name] = a
	}
	return out, rows.Err()
}

// DeclareAttribute declares (or relabels, or reclassifies) an attribute. A
// change from personal to not personal is refused: values already sealed
// stay sealed, and a person's data must not leak into clear by a setting.
func (s *Store) DeclareAttribute(ctx context.Context, actor audit.Actor, tenantID string, a Attribute) error {
	a.Name = strings.TrimSpace(a.Name)
	if !attrName.MatchString(a.Name) {
		return ErrInvalidAttribute
	}
	if a.Label = strings.TrimSpace(a.Label); a.Label == "" {
		a.Label = a.Name
	}
	if len(a.Label) > 100 {
		return fmt.Errorf("attribute label: at most 100 characters")
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		return s.declare(ctx, tx, actor, tenantID, a)
	})
}

func (s *Store) declare(ctx context.Context, tx *sql.Tx, actor audit.Actor, tenantID string, a Attribute) error {
	var personal bool
	err := tx.QueryRowContext(ctx, `/* contact.Store.DeclareAttribute */ SELECT personal FROM contact_attributes WHERE tenant_id = $1 AND name = $2`, tenantID, a.Name).Scan(&personal)
	switch err = db.Translate(err); {
	case errors.Is(err, db.ErrNotFound):
		_, err = tx.ExecContext(ctx, `/* contact.Store.DeclareAttribute */ INSERT INTO contact_attributes (tenant_id, name, label, personal, created_at) VALUES ($1, $2, $3, $4, $5)`,
			tenantID, a.Name, a.Label, a.Personal, db.Now())
	case err != nil:
		return fmt.Errorf("declare attribute: %w", err)
	case personal && !a.Personal:
		return fmt.Errorf("attribute %s is personal: it cannot become not personal (its values are sealed)", a.Name)
	default:
		_, err = tx.ExecContext(ctx, `/* contact.Store.DeclareAttribute */ UPDATE contact_attributes SET label = $3, personal = $4 WHERE tenant_id = $1 AND name = $2`,
			tenantID, a.Name, a.Label, a.Personal)
	}
	if err != nil {
		return fmt.Errorf("declare attribute: %w", db.Translate(err))
	}
	return s.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: actor, Action: "attribute.declare", ObjectKind: "attribute",
		ObjectID: a.Name, Detail: map[string]string{"personal": fmt.Sprint(a.Personal)}})
}
