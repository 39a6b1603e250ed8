package db_test

import (
	"context"
	"testing"

	"avis/internal/db"
)

// TestMigrationKeysLedgerClustered: migration 24 (SQLite) rebuilds the
// data keys and the lawful-basis ledger as WITHOUT ROWID tables: every
// row is kept, a shredded key stays shredded, and the ledger is read by
// contact through its primary key.
func TestMigrationKeysLedgerClustered(t *testing.T) {
	ctx := context.Background()
	d, err := db.Open(ctx, "", t.TempDir(), db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	migrateRange(t, d, 0, 23)
	for _, q := range []string{
		`INSERT INTO tenants (id, slug, name, created_at) VALUES ('t1', 't1', 'T1', 1)`,
		`INSERT INTO subject_keys (tenant_id, subject_id, wrapped_key, created_at) VALUES ('t1', 'c1', x'0102', 5)`,
		`INSERT INTO subject_keys (tenant_id, subject_id, wrapped_key, created_at, erased_at) VALUES ('t1', 'c2', NULL, 5, 9)`,
		`INSERT INTO contact_bases (tenant_id, id, contact_id, basis, purpose, source_kind, source_id, recorded_at) VALUES
			('t1', 'b1', 'c1', 'legitimate_interest', 'satisfaction', 'cli', 'import:i1', 7),
			('t1', 'b2', 'c1', 'consent', 'satisfaction', 'api', 'key:k1', 8),
			('t1', 'b3', 'c2', 'legitimate_interest', 'satisfaction', 'cli', 'import:i1', 7)`,
	} {
		if _, err := d.W.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	migrateRange(t, d, 24, 24)
	var keys, erased, bases int
	if err := d.R.QueryRowContext(ctx, `SELECT count(*), sum(CASE WHEN wrapped_key IS NULL AND erased_at = 9 THEN 1 ELSE 0 END) FROM subject_keys`).Scan(&keys, &erased); err != nil {
		t.Fatal(err)
	}
	if err := d.R.QueryRowContext(ctx, `SELECT count(*) FROM contact_bases WHERE tenant_id = 't1' AND contact_id = 'c1' AND source_id IN ('import:i1', 'key:k1')`).Scan(&bases); err != nil {
		t.Fatal(err)
	}
	if keys != 2 || erased != 1 || bases != 2 {
		t.Fatalf("after migration 24: %d keys (%d shredded), %d ledger rows of c1; want 2 (1), 2", keys, erased, bases)
	}
	var plan string
	rows, err := d.R.QueryContext(ctx, `EXPLAIN QUERY PLAN SELECT basis FROM contact_bases WHERE tenant_id = 't1' AND contact_id = 'c1'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan += detail
	}
	rows.Close()
	if plan != "SEARCH contact_bases USING PRIMARY KEY (tenant_id=? AND contact_id=?)" {
		t.Fatalf("the ledger of a contact is read by %q, want its primary key", plan)
	}
}
