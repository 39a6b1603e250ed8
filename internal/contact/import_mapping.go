package contact

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"avis/internal/db"
)

// SavedMapping is a named column mapping a tenant keeps for its next
// imports: which column name goes to which field, and how to read the file.
type SavedMapping struct {
	Name    string
	Columns map[string]Field // column name as in the file → field
	Options MappingOptions
}

// MappingOptions are the reading options saved with a mapping.
type MappingOptions struct {
	Encoding  string `json:"encoding,omitempty"`
	Delimiter string `json:"delimiter,omitempty"`
	Sheet     string `json:"sheet,omitempty"`
	Region    string `json:"region,omitempty"`
}

var mappingName = regexp.MustCompile(`^[\pL\pN][\pL\pN _.-]{0,59}$`)

// ErrMappingName says a mapping name cannot be used.
var ErrMappingName = fmt.Errorf("%w: a mapping name is 1 to 60 letters, digits, spaces, '_', '.' or '-'", ErrMapping)

// Apply gives the field of each column of header under the saved mapping;
// columns it does not know are ignored.
func (m SavedMapping) Apply(header []string) []Field {
	out := make([]Field, len(header))
	for i, h := range header {
		out[i] = m.Columns[h]
	}
	return out
}

// SaveMapping stores (or replaces) a named mapping.
func (s *Store) SaveMapping(ctx context.Context, tenantID string, m SavedMapping) error {
	m.Name = strings.TrimSpace(m.Name)
	if !mappingName.MatchString(m.Name) {
		return ErrMappingName
	}
	cols, err := json.Marshal(m.Columns)
	if err != nil {
		return err
	}
	opts, err := json.Marshal(m.Options)
	if err != nil {
		return err
	}
	now := db.Now()
	_, err = s.db.W.ExecContext(ctx, `/* contact.Store.SaveMapping */ INSERT INTO import_mappings (tenant_id, name, mapping, options, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (tenant_id, name) DO UPDATE SET mapping = excluded.mapping, options = excluded.options,
		updated_at = excluded.updated_at`, tenantID, m.Name, string(cols), string(opts), now)
	if err != nil {
		return fmt.Errorf("save mapping: %w", db.Translate(err))
	}
	return nil
}

// Mapping returns a saved mapping by name: db.ErrNotFound when none.
func (s *Store) Mapping(ctx context.Context, tenantID, name string) (SavedMapping, error) {
	var cols, opts string
	err := s.db.R.QueryRowContext(ctx, `/* contact.Store.Mapping */ SELECT mapping, options FROM import_mappings WHERE tenant_id = $1 AND name = $2`,
		tenantID, name).Scan(&cols, &opts)
	if err != nil {
		return SavedMapping{}, fmt.Errorf("mapping %q: %w", name, db.Translate(err))
	}
	m := SavedMapping{Name: name}
	if err := json.Unmarshal([]byte(cols), &m.Columns); err != nil {
		return SavedMapping{}, fmt.Errorf("mapping %q: %w", name, err)
	}
	if err := json.Unmarshal([]byte(opts), &m.Options); err != nil {
		return SavedMapping{}, fmt.Errorf("mapping %q: %w", name, err)
	}
	return m, nil
}

// Mappings lists the names of the tenant's saved mappings.
func (s *Store) Mappings(ctx context.Context, tenantID string) ([]string, error) {
	rows, err := s.db.R.QueryContext(ctx, `/* contact.Store.Mappings */ SELECT name FROM import_mappings WHERE tenant_id = $1 ORDER BY name`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("mappings: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}
