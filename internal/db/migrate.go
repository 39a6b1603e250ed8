package db

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migration is one step of the avis schema.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the avis schema steps for a dialect, in order. A file
// NNNN_name.sql holds SQL both dialects accept (BLOB becomes BYTEA on
// PostgreSQL); NNNN_name.sqlite.sql and NNNN_name.postgres.sql hold a step
// whose SQL differs.
func Migrations(d Dialect) ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	byVersion := map[int]Migration{}
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".sql")
		only := ""
		if base, ok := strings.CutSuffix(name, ".sqlite"); ok {
			name, only = base, string(SQLite)
		} else if base, ok := strings.CutSuffix(name, ".postgres"); ok {
			name, only = base, string(Postgres)
		}
		if only != "" && only != string(d) {
			continue
		}
		num, label, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration file %s: name must be NNNN_name.sql", e.Name())
		}
		b, err := migrationFS.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		text := string(b)
		if only == "" && d == Postgres {
			text = strings.ReplaceAll(text, " BLOB", " BYTEA")
		}
		if prev, dup := byVersion[v]; dup && prev.Name != label {
			return nil, fmt.Errorf("migration version %d used twice (%s, %s)", v, prev.Name, label)
		}
		byVersion[v] = Migration{Version: v, Name: label, SQL: text}
	}
	out := make([]Migration, 0, len(byVersion))
	for _, m := range byVersion {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Migrate brings the avis schema and the job queue's schema up to date. It is
// safe to run from several processes at once on PostgreSQL (an advisory lock
// serialises them) and does nothing when everything is current.
func (db *DB) Migrate(ctx context.Context) error {
	ms, err := Migrations(db.Dialect)
	if err != nil {
		return err
	}
	if _, err := db.W.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range ms {
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			if db.Dialect == Postgres {
				if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(4242)`); err != nil {
					return err
				}
			}
			var n int
			if err := tx.QueryRowContext(ctx, `/* db.Migrate */ SELECT count(*) FROM schema_migrations WHERE version = $1`, m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("apply migration %04d_%s: %w", m.Version, m.Name, err)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`, m.Version, m.Name, Now())
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	if err := db.migrateRiver(ctx); err != nil {
		return fmt.Errorf("migrate job queue: %w", err)
	}
	return nil
}

func (db *DB) migrateRiver(ctx context.Context) error {
	switch db.Dialect {
	case SQLite:
		m, err := rivermigrate.New(riversqlite.New(db.W), nil)
		if err != nil {
			return err
		}
		_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		return err
	default:
		// River's steps must not share one transaction (a step adds an enum
		// value that a later step uses), so a session-level advisory lock on
		// a connection of its own keeps concurrent avis processes apart.
		conn, err := db.W.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(4243)`); err != nil {
			return err
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(4243)`)
		m, err := rivermigrate.New(riverdatabasesql.New(db.W), nil)
		if err != nil {
			return err
		}
		_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		return err
	}
}

// ErrSchemaBehind says the database has not been migrated to this binary's
// schema.
var ErrSchemaBehind = errors.New("database schema is behind this version of avis: run 'avis migrate'")

// ErrSchemaAhead says the database was migrated by a newer avis.
var ErrSchemaAhead = errors.New("database schema is newer than this version of avis: upgrade avis")

// SchemaCurrent returns nil when the database holds exactly this binary's
// migrations, ErrSchemaBehind or ErrSchemaAhead otherwise.
func (db *DB) SchemaCurrent(ctx context.Context) error {
	ms, err := Migrations(db.Dialect)
	if err != nil {
		return err
	}
	var maxV sql.NullInt64
	var n int
	err = db.R.QueryRowContext(ctx, `/* db.SchemaCurrent */ SELECT max(version), count(*) FROM schema_migrations`).Scan(&maxV, &n)
	if err != nil {
		if strings.Contains(err.Error(), "schema_migrations") {
			return ErrSchemaBehind
		}
		return fmt.Errorf("read schema version: %w", err)
	}
	want := ms[len(ms)-1].Version
	switch {
	case int(maxV.Int64) > want:
		return ErrSchemaAhead
	case int(maxV.Int64) < want || n < len(ms):
		return ErrSchemaBehind
	}
	return nil
}
