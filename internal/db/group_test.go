package db_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
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

// TestGroupCommitOnce: callers of one transaction share what Once made in
// it, and only in it: a value made in a transaction that rolled back (the
// group failed, each caller ran again alone) is never handed out again.
func TestGroupCommitOnce(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	for _, q := range []string{`CREATE TABLE once_made (v BIGINT NOT NULL PRIMARY KEY)`, `CREATE TABLE once_used (n BIGINT NOT NULL PRIMARY KEY, v BIGINT NOT NULL)`} {
		if _, err := d.W.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	g := db.NewGroupCommit(d, nil)
	var mu sync.Mutex
	next := int64(0)
	boom := errors.New("boom")
	const n = 200
	// run has callers first..first+n-1 use a value made once per
	// transaction; those for which fail is true fail their group.
	run := func(first int, fail func(i int) bool) {
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := first; i < first+n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				err := g.Do(func(tx *sql.Tx) error {
					v, err := g.Once(tx, "v", func() (any, error) {
						mu.Lock()
						next++
						v := next
						mu.Unlock()
						_, err := tx.ExecContext(ctx, `INSERT INTO once_made (v) VALUES ($1)`, v)
						return v, err
					})
					if err != nil {
						return err
					}
					if _, err := tx.ExecContext(ctx, `INSERT INTO once_used (n, v) VALUES ($1, $2)`, i, v.(int64)); err != nil {
						return err
					}
					if fail(i) {
						return boom // fails its group: the others run again alone
					}
					return nil
				})
				if err != nil && !errors.Is(err, boom) {
					t.Error(err)
				}
			}()
		}
		close(start)
		wg.Wait()
	}
	count := func(q string) int {
		t.Helper()
		var k int
		if err := d.R.QueryRowContext(ctx, q).Scan(&k); err != nil {
			t.Fatal(err)
		}
		return k
	}
	run(0, func(int) bool { return false })
	if used, made := count(`SELECT count(*) FROM once_used`), count(`SELECT count(*) FROM once_made`); used != n || made >= used {
		t.Errorf("%d values made for %d callers: nothing was shared", made, used)
	}
	run(n, func(i int) bool { return i%50 == 49 })
	if used := count(`SELECT count(*) FROM once_used`); used != 2*n-n/50 {
		t.Errorf("%d callers committed, want %d", used, 2*n-n/50)
	}
	if orphans := count(`SELECT count(*) FROM once_used u WHERE NOT EXISTS (SELECT 1 FROM once_made m WHERE m.v = u.v)`); orphans != 0 {
		t.Errorf("%d callers used a value made in a transaction that rolled back", orphans)
	}
}

// TestGroupCommitLater: work put off with Later runs at the end of its
// transaction, after the work of every caller of the group, once per
// committed caller; a failure there fails the group, whose callers run
// again alone; with Parallel, groups run side by side and each caller's
// outcome is still its own.
func TestGroupCommitLater(t *testing.T) {
	for _, par := range []int{1, 4} {
		t.Run(fmt.Sprintf("parallel %d", par), func(t *testing.T) {
			ctx := context.Background()
			d := dbtest.Open(t)
			if _, err := d.W.ExecContext(ctx, `CREATE TABLE later_done (n BIGINT NOT NULL PRIMARY KEY)`); err != nil {
				t.Fatal(err)
			}
			g := db.NewGroupCommit(d, nil).Parallel(par)
			type group struct{ callers int }
			var mu sync.Mutex
			seen := map[*group][]int{} // for each transaction, the callers its later work saw
			boom := errors.New("boom")
			const n = 200
			var wg sync.WaitGroup
			var failed atomic.Int64
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					err := g.Do(func(tx *sql.Tx) error {
						v, err := g.Once(tx, "group", func() (any, error) { return &group{}, nil })
						if err != nil {
							return err
						}
						grp := v.(*group)
						grp.callers++
						g.Later(tx, func() error {
							mu.Lock()
							seen[grp] = append(seen[grp], grp.callers)
							mu.Unlock()
							if i%50 == 49 {
								return boom
							}
							_, err := tx.ExecContext(ctx, `INSERT INTO later_done (n) VALUES ($1)`, i)
							return err
						})
						return nil
					})
					if errors.Is(err, boom) {
						failed.Add(1)
					} else if err != nil {
						t.Error(err)
					}
				}()
			}
			close(start)
			wg.Wait()
			if failed.Load() != n/50 {
				t.Errorf("%d callers failed, want %d", failed.Load(), n/50)
			}
			var done int
			if err := d.R.QueryRowContext(ctx, `SELECT count(*) FROM later_done`).Scan(&done); err != nil {
				t.Fatal(err)
			}
			if done != n-n/50 {
				t.Errorf("%d callers' later work committed, want %d", done, n-n/50)
			}
			for grp, s := range seen {
				for _, c := range s {
					if c != grp.callers {
						t.Fatalf("later work saw %d callers of its transaction, which had %d: it ran before the others' work", c, grp.callers)
					}
				}
			}
		})
	}
}
