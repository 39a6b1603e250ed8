package db_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"

	"avis/internal/db"
	"avis/internal/db/dbtest"
)

func TestInserter(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	if _, err := d.W.ExecContext(ctx, `INSERT INTO tenants (id, slug, name, created_at) VALUES ('t', 't', 'Shop', 1)`); err != nil {
		t.Fatal(err)
	}
	const head = `INSERT INTO subject_keys (tenant_id, subject_id, wrapped_key, created_at) VALUES `
	for _, n := range []int{0, 1, 499, 500, 501, 1234} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			prefix := fmt.Sprintf("n%d-", n)
			err := d.Tx(ctx, func(tx *sql.Tx) error {
				in := db.NewInserter(d.Dialect, tx, head, 4)
				for i := range n {
					if err := in.Add(ctx, "t", fmt.Sprintf("%s%05d", prefix, i), []byte{byte(i)}, int64(i)); err != nil {
						in.Close(ctx)
						return err
					}
				}
				return in.Close(ctx)
			})
			if err != nil {
				t.Fatal(err)
			}
			var count, sum int
			if err := d.R.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(created_at), 0) FROM subject_keys WHERE subject_id LIKE $1`, prefix+"%").Scan(&count, &sum); err != nil {
				t.Fatal(err)
			}
			if count != n || sum != n*(n-1)/2 {
				t.Fatalf("%d rows (sum %d) stored, want %d (sum %d)", count, sum, n, n*(n-1)/2)
			}
		})
	}

	// A row that breaks a constraint fails the insert, whichever statement
	// carries it, and the transaction leaves nothing.
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		in := db.NewInserter(d.Dialect, tx, head, 4)
		for i := range 700 {
			id := fmt.Sprintf("dup-%05d", i)
			if i == 650 {
				id = "dup-00003"
			}
			if err := in.Add(ctx, "t", id, nil, 1); err != nil {
				in.Close(ctx)
				return db.Translate(err)
			}
		}
		return db.Translate(in.Close(ctx))
	})
	if !errors.Is(err, db.ErrConflict) {
		t.Fatalf("duplicate key: got %v, want ErrConflict", err)
	}
	var count int
	if err := d.R.QueryRowContext(ctx, `SELECT count(*) FROM subject_keys WHERE subject_id LIKE 'dup-%'`).Scan(&count); err != nil {
		t.Fatal(err)
	}
	if count != 0 {
		t.Fatalf("%d rows of a failed transaction kept", count)
	}
	// With a tail, the same rows again are skipped, not an error.
	err = d.Tx(ctx, func(tx *sql.Tx) error {
		in := db.NewInserter(d.Dialect, tx, head, 4).WithTail(" ON CONFLICT DO NOTHING")
		for i := range 501 {
			if err := in.Add(ctx, "t", fmt.Sprintf("n501-%05d", i), nil, int64(-1)); err != nil {
				return err
			}
		}
		return in.Close(ctx)
	})
	if err != nil {
		t.Fatalf("rows again with ON CONFLICT DO NOTHING: %v", err)
	}
	var kept int
	if err := d.R.QueryRowContext(ctx, `SELECT count(*) FROM subject_keys WHERE subject_id LIKE 'n501-%' AND created_at >= 0`).Scan(&kept); err != nil {
		t.Fatal(err)
	}
	if kept != 501 {
		t.Fatalf("%d of the first 501 rows kept as they were, want 501", kept)
	}
	if err := db.NewInserter(d.Dialect, d.W, head, 4).Add(ctx, "t", "x"); err == nil {
		t.Fatal("a row of 2 values for 4 columns was accepted")
	}
}
