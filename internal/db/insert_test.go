package db_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"testing"

	"avis/internal/db"
	"avis/internal/db/dbtest"
)

// inserters are the two ways rows go in: an Inserter in a plain
// transaction, and one made by Into in a BulkTx (COPY on PostgreSQL).
var inserters = []struct {
	name string
	tx   func(d *db.DB, ctx context.Context, fn func(q db.Querier, in func() *db.Inserter) error) error
}{
	{"insert", func(d *db.DB, ctx context.Context, fn func(db.Querier, func() *db.Inserter) error) error {
		return d.Tx(ctx, func(tx *sql.Tx) error {
			return fn(tx, func() *db.Inserter { return db.NewInserter(d.Dialect, tx, head, 4) })
		})
	}},
	{"bulk", func(d *db.DB, ctx context.Context, fn func(db.Querier, func() *db.Inserter) error) error {
		return d.BulkTx(ctx, func(tx *db.BulkTx) error {
			return fn(tx, func() *db.Inserter {
				return db.Into(d.Dialect, tx, "test", "subject_keys", "tenant_id", "subject_id", "wrapped_key", "created_at")
			})
		})
	}},
}

const head = `INSERT INTO subject_keys (tenant_id, subject_id, wrapped_key, created_at) VALUES `

func TestInserter(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	if _, err := d.W.ExecContext(ctx, `INSERT INTO tenants (id, slug, name, created_at) VALUES ('t', 't', 'Shop', 1)`); err != nil {
		t.Fatal(err)
	}
	// released: a transaction gave its connection back (SQLite has one
	// writer connection: one kept would stop every later write).
	released := func(t *testing.T) {
		t.Helper()
		if n := d.W.Stats().InUse; n != 0 {
			t.Fatalf("%d connections still in use after the transaction", n)
		}
	}
	for _, kind := range inserters {
		t.Run(kind.name, func(t *testing.T) {
			for _, n := range []int{0, 1, 499, 500, 501, 1234, 5000, 5001} {
				prefix := fmt.Sprintf("%s%d-", kind.name, n)
				err := kind.tx(d, ctx, func(_ db.Querier, newIn func() *db.Inserter) error {
					in := newIn()
					for i := range n {
						if err := in.Add(ctx, "t", fmt.Sprintf("%s%05d", prefix, i), []byte{byte(i)}, int64(i)); err != nil {
							return err
						}
					}
					return in.Close(ctx)
				})
				if err != nil {
					t.Fatalf("%d rows: %v", n, err)
				}
				released(t)
				var count, sum int
				if err := d.R.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(created_at), 0) FROM subject_keys WHERE subject_id LIKE $1`, prefix+"%").Scan(&count, &sum); err != nil {
					t.Fatal(err)
				}
				if count != n || sum != n*(n-1)/2 {
					t.Fatalf("%d rows (sum %d) stored, want %d (sum %d)", count, sum, n, n*(n-1)/2)
				}
			}

			// A row that breaks a constraint fails the insert, whichever
			// statement carries it, and the transaction leaves nothing.
			dup := kind.name + "-dup-"
			err := kind.tx(d, ctx, func(_ db.Querier, newIn func() *db.Inserter) error {
				in := newIn()
				for i := range 5700 {
					id := fmt.Sprintf("%s%05d", dup, i)
					if i == 5650 {
						id = dup + "00003"
					}
					if err := in.Add(ctx, "t", id, nil, 1); err != nil {
						return err
					}
				}
				return in.Close(ctx)
			})
			if !errors.Is(err, db.ErrConflict) {
				t.Fatalf("duplicate key: got %v, want ErrConflict", err)
			}
			released(t)
			var count int
			if err := d.R.QueryRowContext(ctx, `SELECT count(*) FROM subject_keys WHERE subject_id LIKE $1`, dup+"%").Scan(&count); err != nil {
				t.Fatal(err)
			}
			if count != 0 {
				t.Fatalf("%d rows of a failed transaction kept", count)
			}

			// A panic rolls back too and gives the connection back.
			func() {
				defer func() {
					if recover() == nil {
						t.Fatal("the panic did not come through")
					}
				}()
				kind.tx(d, ctx, func(q db.Querier, newIn func() *db.Inserter) error {
					in := newIn()
					if err := in.Add(ctx, "t", kind.name+"-panic", nil, 1); err != nil {
						return err
					}
					in.Close(ctx)
					panic("boom")
				})
			}()
			released(t)
			if err := d.R.QueryRowContext(ctx, `SELECT count(*) FROM subject_keys WHERE subject_id = $1`, kind.name+"-panic").Scan(&count); err != nil {
				t.Fatal(err)
			}
			if count != 0 {
				t.Fatal("the row of a transaction that panicked was kept")
			}
		})
	}

	// With a tail, the same rows again are skipped, not an error (a tail
	// makes an Into inserter insert, even in a BulkTx).
	for _, kind := range inserters {
		err := kind.tx(d, ctx, func(_ db.Querier, newIn func() *db.Inserter) error {
			in := newIn().WithTail(" ON CONFLICT DO NOTHING")
			for i := range 501 {
				if err := in.Add(ctx, "t", fmt.Sprintf("insert501-%05d", i), nil, int64(-1)); err != nil {
					return err
				}
			}
			return in.Close(ctx)
		})
		if err != nil {
			t.Fatalf("%s: rows again with ON CONFLICT DO NOTHING: %v", kind.name, err)
		}
		released(t)
	}
	var kept int
	if err := d.R.QueryRowContext(ctx, `SELECT count(*) FROM subject_keys WHERE subject_id LIKE 'insert501-%' AND created_at >= 0`).Scan(&kept); err != nil {
		t.Fatal(err)
	}
	if kept != 501 {
		t.Fatalf("%d of the first 501 rows kept as they were, want 501", kept)
	}
	if err := db.NewInserter(d.Dialect, d.W, head, 4).Add(ctx, "t", "x"); err == nil {
		t.Fatal("a row of 2 values for 4 columns was accepted")
	}
	tx, err := d.BeginBulk(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Into(d.Dialect, tx, "test", "subject_keys", "tenant_id", "subject_id").Add(ctx, "t"); err == nil {
		t.Fatal("a row of 1 value for 2 columns was accepted")
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	released(t)
}

// TestEachIn: the conditions EachIn makes find the rows holding one of the
// values, text or bytes, with other arguments before them, for more
// values than one SQLite statement takes.
func TestEachIn(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	if _, err := d.W.ExecContext(ctx, `INSERT INTO tenants (id, slug, name, created_at) VALUES ('t', 't', 'Shop', 1)`); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := d.W.ExecContext(ctx, `INSERT INTO subject_keys (tenant_id, subject_id, wrapped_key, created_at) VALUES ('t', $1, $2, 1)`,
			fmt.Sprint("s", i), []byte{byte(i), 0}); err != nil {
			t.Fatal(err)
		}
	}
	// ids returns the subject ids found, in order.
	ids := func(col string, each func(fn func(string, []any) error) error) string {
		t.Helper()
		var out []string
		err := each(func(cond string, args []any) error {
			rows, err := d.R.QueryContext(ctx, `SELECT subject_id FROM subject_keys WHERE tenant_id = `+d.Dialect.Arg(1)+` AND `+col+cond, args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					return err
				}
				out = append(out, id)
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(out)
		return fmt.Sprint(out)
	}
	text := func(values ...string) func(func(string, []any) error) error {
		return func(fn func(string, []any) error) error { return db.EachIn(d.Dialect, []any{"t"}, values, fn) }
	}
	if got := ids("subject_id", text("s2", "nobody", "s0")); got != "[s0 s2]" {
		t.Errorf("text: got %s, want [s0 s2]", got)
	}
	bytes := func(fn func(string, []any) error) error {
		return db.EachIn(d.Dialect, []any{"t"}, [][]byte{{1, 0}, {9}}, fn)
	}
	if got := ids("wrapped_key", bytes); got != "[s1]" {
		t.Errorf("bytes: got %s, want [s1]", got)
	}
	many := make([]string, 5000)
	for i := range many {
		many[i] = fmt.Sprint("s", 4999-i)
	}
	if got := ids("subject_id", text(many...)); got != "[s0 s1 s2]" {
		t.Errorf("%d values: got %s, want [s0 s1 s2]", len(many), got)
	}
	if got := ids("subject_id", text()); got != "[]" {
		t.Errorf("no values: got %s, want []", got)
	}
}
