package db

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// Column is one column of a table as the database reports it.
type Column struct {
	Table string
	Name  string
	// Type is the declared type, normalised across dialects: BYTEA reads as
	// BLOB, and PostgreSQL's long names read as the short ones.
	Type string
}

// Columns lists the columns of the avis tables (River's own tables and the
// migration bookkeeping left out), sorted by table then column name.
func (db *DB) Columns(ctx context.Context) ([]Column, error) {
	var q string
	switch db.Dialect {
	case SQLite:
		q = `SELECT m.name, p.name, p.type FROM sqlite_master m JOIN pragma_table_info(m.name) p
		     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'`
	default:
		q = `SELECT table_name, column_name, data_type FROM information_schema.columns
		     WHERE table_schema = current_schema()`
	}
	rows, err := db.R.QueryContext(ctx, "/* db.Columns */ "+q)
	if err != nil {
		return nil, fmt.Errorf("list columns: %w", err)
	}
	defer rows.Close()
	var out []Column
	for rows.Next() {
		var c Column
		if err := rows.Scan(&c.Table, &c.Name, &c.Type); err != nil {
			return nil, fmt.Errorf("list columns: %w", err)
		}
		if strings.HasPrefix(c.Table, "river_") || c.Table == "schema_migrations" {
			continue
		}
		c.Type = normaliseType(c.Type)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list columns: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Table != out[j].Table {
			return out[i].Table < out[j].Table
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

func normaliseType(t string) string {
	switch strings.ToUpper(t) {
	case "BYTEA", "BLOB":
		return "BLOB"
	case "BIGINT", "INTEGER", "INT", "INT8":
		return "BIGINT"
	case "TEXT", "CHARACTER VARYING", "VARCHAR":
		return "TEXT"
	case "BOOLEAN", "BOOL":
		return "BOOLEAN"
	case "DOUBLE PRECISION", "REAL", "FLOAT8":
		return "DOUBLE"
	}
	return strings.ToUpper(t)
}
