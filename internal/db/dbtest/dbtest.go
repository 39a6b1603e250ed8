// Package dbtest gives each test a fresh, migrated avis database: SQLite in a
// temporary directory, or a new database on the PostgreSQL server that the
// test script started, as the environment says.
//
//	AVIS_TEST_DB=sqlite|postgres     which database Open gives (default sqlite)
//	AVIS_TEST_POSTGRES_URL=postgres://user@127.0.0.1:PORT/postgres
//	                                 a server where tests may create databases
//	AVIS_TEST_REQUIRE_POSTGRES=1     fail, never skip, when PostgreSQL is missing
package dbtest

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"testing"

	"avis/internal/db"
)

// Kind returns the database kind the tests run on: "sqlite" or "postgres".
func Kind() db.Dialect {
	if os.Getenv("AVIS_TEST_DB") == "postgres" {
		return db.Postgres
	}
	return db.SQLite
}

// Open returns a fresh, migrated database of the kind the environment names,
// closed and removed when the test ends.
func Open(t testing.TB) *db.DB {
	t.Helper()
	if Kind() == db.Postgres {
		return OpenPostgres(t)
	}
	return OpenSQLite(t)
}

// OpenSQLite returns a fresh, migrated SQLite database in a temporary
// directory.
func OpenSQLite(t testing.TB) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), "", t.TempDir(), db.Options{})
	if err != nil {
		t.Fatalf("open SQLite: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate SQLite: %v", err)
	}
	return d
}

// PostgresURL returns a URL for a new, empty PostgreSQL database made for this
// test and dropped after it. Without a server it skips the test, or fails it
// when AVIS_TEST_REQUIRE_POSTGRES=1.
func PostgresURL(t testing.TB) string {
	t.Helper()
	admin := os.Getenv("AVIS_TEST_POSTGRES_URL")
	if admin == "" {
		if os.Getenv("AVIS_TEST_REQUIRE_POSTGRES") == "1" {
			t.Fatal("AVIS_TEST_POSTGRES_URL is not set but AVIS_TEST_REQUIRE_POSTGRES=1: run the tests with 'make test'")
		}
		t.Skip("PostgreSQL not available: set AVIS_TEST_POSTGRES_URL or run 'make test'")
	}
	ctx := context.Background()
	a, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("open PostgreSQL admin connection: %v", err)
	}
	defer a.Close()
	name := "avis_test_" + db.NewID()
	if _, err := a.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", admin)
		if err != nil {
			return
		}
		defer a.Close()
		_, _ = a.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("AVIS_TEST_POSTGRES_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// OpenPostgres returns a fresh, migrated PostgreSQL database (see
// PostgresURL for when it skips).
func OpenPostgres(t testing.TB) *db.DB {
	t.Helper()
	u := PostgresURL(t)
	d, err := db.Open(context.Background(), u, "", db.Options{MaxConns: 4})
	if err != nil {
		t.Fatalf("open PostgreSQL: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate PostgreSQL: %v", err)
	}
	return d
}
