package db_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"

	"avis/internal/db"
	"avis/internal/db/dbtest"
)

// TestGroupCommit: concurrent callers share transactions; each gets its
// own outcome; a caller whose work fails fails alone and leaves nothing
// written, while the others' work is committed.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	if _, err := d.W.ExecContext(ctx, `CREATE TABLE group_commit_test (n BIGINT NOT NULL PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	errNotCommitted := errors.New("not committed")
	g := db.NewGroupCommit(d, func(err error) bool { return errors.Is(err, errNotCommitted) })
	boom := errors.New("boom")
	const n = 200
	results := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = g.Do(func(tx *sql.Tx) error {
				switch i % 10 {
				case 3:
					return errNotCommitted
				case 7:
					if _, err := tx.ExecContext(ctx, `INSERT INTO group_commit_test (n) VALUES ($1)`, i); err != nil {
						return err
					}
					return boom
				}
				_, err := tx.ExecContext(ctx, `INSERT INTO group_commit_test (n) VALUES ($1)`, i)
				return err
			})
		}()
	}
	wg.Wait()
	for i, err := range results {
		want := error(nil)
		switch i % 10 {
		case 3:
			want = errNotCommitted
		case 7:
			want = boom
		}
		if !errors.Is(err, want) || (want == nil && err != nil) {
			t.Errorf("caller %d: %v, want %v", i, err, want)
		}
	}
	rows, err := d.R.QueryContext(ctx, `SELECT n FROM group_commit_test`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[int]bool{}
	for rows.Next() {
		var v int
		rows.Scan(&v)
		got[v] = true
	}
	for i := range n {
		if want := i%10 != 3 && i%10 != 7; got[i] != want {
			t.Errorf("row %d written = %v, want %v", i, got[i], want)
		}
	}
}
