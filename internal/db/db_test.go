package db_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"database/sql"

	"avis/internal/db"
	"avis/internal/db/dbtest"
)

func TestSchemasMatch(t *testing.T) {
	ctx := context.Background()
	lite := dbtest.OpenSQLite(t)
	pg := dbtest.OpenPostgres(t)
	lc, err := lite.Columns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := pg.Columns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(lc) == 0 {
		t.Fatal("SQLite schema has no columns")
	}
	str := func(cs []db.Column) string {
		var b strings.Builder
		for _, c := range cs {
			fmt.Fprintf(&b, "%s.%s %s\n", c.Table, c.Name, c.Type)
		}
		return b.String()
	}
	if a, b := str(lc), str(pc); a != b {
		t.Errorf("schemas differ\nSQLite:\n%s\nPostgreSQL:\n%s", a, b)
	}
}

func TestMigrateTwiceAndCurrent(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	if err := d.SchemaCurrent(ctx); err != nil {
		t.Fatalf("fresh migrated database not current: %v", err)
	}
	if err := d.Migrate(ctx); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if _, err := d.W.ExecContext(ctx, `DELETE FROM schema_migrations WHERE version = 1`); err != nil {
		t.Fatal(err)
	}
	if err := d.SchemaCurrent(ctx); !errors.Is(err, db.ErrSchemaBehind) {
		t.Fatalf("after removing a migration SchemaCurrent = %v, want ErrSchemaBehind", err)
	}
}

func TestTranslateAndTx(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	insert := func(q db.Querier, slug string) error {
		_, err := q.ExecContext(ctx, `INSERT INTO tenants (id, slug, name, created_at) VALUES ($1, $2, $3, $4)`, db.NewID(), slug, "Shop", db.Now())
		return db.Translate(err)
	}
	if err := insert(d.W, "shop"); err != nil {
		t.Fatal(err)
	}
	if err := insert(d.W, "shop"); !errors.Is(err, db.ErrConflict) {
		t.Fatalf("duplicate slug: got %v, want ErrConflict", err)
	}
	// A failing transaction leaves nothing behind.
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		if err := insert(tx, "other"); err != nil {
			return err
		}
		return insert(tx, "shop")
	})
	if !errors.Is(err, db.ErrConflict) {
		t.Fatalf("tx error = %v, want ErrConflict", err)
	}
	var n int
	if err := d.R.QueryRowContext(ctx, `SELECT count(*) FROM tenants WHERE slug = $1`, "other").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatal("rolled-back insert is visible")
	}
	_, err = d.R.ExecContext(ctx, `INSERT INTO memberships (tenant_id, user_id, role, created_at) VALUES ('x','y','owner',1)`)
	if d.Dialect == db.SQLite && err == nil {
		t.Fatal("read pool accepted a write")
	}
	err = d.W.QueryRowContext(ctx, `SELECT id FROM tenants WHERE slug = $1`, "nope").Scan(new(string))
	if !errors.Is(db.Translate(err), db.ErrNotFound) {
		t.Fatalf("missing row: got %v, want ErrNotFound", err)
	}
	if _, err := d.W.ExecContext(ctx, `INSERT INTO memberships (tenant_id, user_id, role, created_at) VALUES ('x','y','owner',1)`); !errors.Is(db.Translate(err), db.ErrReference) {
		t.Fatalf("dangling reference: got %v, want ErrReference", err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	cases := []struct{ name, url, dir, want string }{
		{"unknown scheme", "mysql://x", "", "not understood"},
		{"unreachable postgres", "postgres://u:secret@127.0.0.1:1/db?connect_timeout=2", "", "cannot reach PostgreSQL"},
		{"read-only dir", "", "/proc/avis", "data directory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := db.Open(ctx, c.url, c.dir, db.Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Open error = %v, want it to say %q", err, c.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Fatalf("error leaks the password: %v", err)
			}
		})
	}
}

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	prev := ""
	for range 10000 {
		id := db.NewID()
		if !db.ValidID(id) {
			t.Fatalf("NewID %q is not ValidID", id)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		if id <= prev {
			t.Fatalf("ids not increasing: %q after %q", id, prev)
		}
		seen[id], prev = true, id
	}
	for _, bad := range []string{"", "x", "../../etc/passwd", strings.Repeat("I", 26)} {
		if db.ValidID(bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
}

// TestPostgresPlannerCost: avis's PostgreSQL connections plan for SSDs
// (random_page_cost 1.1) so that batches of ids are looked up by key, and
// a random_page_cost given in the URL wins.
func TestPostgresPlannerCost(t *testing.T) {
	if dbtest.Kind() != db.Postgres {
		t.Skip("a PostgreSQL connection setting: the PostgreSQL run of the suite checks it")
	}
	u := dbtest.PostgresURL(t)
	for _, tt := range []struct{ url, want string }{{u, "1.1"}, {u + "&random_page_cost=2", "2"}} {
		if !strings.Contains(tt.url, "?") {
			tt.url = strings.Replace(tt.url, "&", "?", 1)
		}
		d, err := db.Open(context.Background(), tt.url, "", db.Options{MaxConns: 1})
		if err != nil {
			t.Fatal(err)
		}
		var got string
		if err := d.R.QueryRow("SHOW random_page_cost").Scan(&got); err != nil {
			t.Fatal(err)
		}
		d.Close()
		if got != tt.want {
			t.Errorf("%s: random_page_cost = %s, want %s", db.Redact(tt.url), got, tt.want)
		}
	}
}
