package db_test

import (
	"context"
	"database/sql"
	"testing"

	"avis/internal/db"
	"avis/internal/db/dbtest"
)

// TestStmts runs cached statements on the pool and inside a transaction
// on the single SQLite writer without waiting for its own connection.
func TestStmts(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	w := db.NewStmts(d.W)
	defer w.Close()
	const ins = `INSERT INTO tenants (id, slug, name, created_at) VALUES ($1, $2, $3, 1)`
	if _, err := w.ExecContext(ctx, ins, "t1", "t1", "T1"); err != nil {
		t.Fatal(err)
	}
	// Prepared before, then used in a transaction; and one never prepared.
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		q := w.In(tx)
		if _, err := q.ExecContext(ctx, ins, "t2", "t2", "T2"); err != nil {
			return err
		}
		var n int
		return q.QueryRowContext(ctx, `SELECT COUNT(*) FROM tenants WHERE id IN ('t1', 't2')`).Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	r := db.NewStmts(d.R)
	defer r.Close()
	for range 3 {
		var n int
		if err := r.QueryRowContext(ctx, `SELECT COUNT(*) FROM tenants WHERE id IN ($1, $2)`, "t1", "t2").Scan(&n); err != nil || n != 2 {
			t.Fatalf("count = %d, %v", n, err)
		}
	}
	if err := r.QueryRowContext(ctx, `SELECT nope FROM nowhere`).Scan(new(int)); err == nil {
		t.Fatal("a bad query gave no error")
	}
}
