package db_test

import (
	"context"
	"database/sql"
	"os"
	"runtime"
	"testing"
	"time"

	"avis/internal/db"
)

// TestCheckpointer: on SQLite, what the writer commits reaches the
// database file without the writer checkpointing (it would only past 512
// MB of log): the checkpointer copies it back on its own. Close stops it.
func TestCheckpointer(t *testing.T) {
	ctx := context.Background()
	before := runtime.NumGoroutine()
	dir := t.TempDir()
	d, err := db.Open(ctx, "", dir, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.W.ExecContext(ctx, `CREATE TABLE blobs (b BLOB)`); err != nil {
		t.Fatal(err)
	}
	size := func() int64 {
		fi, err := os.Stat(d.Path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	start := size()
	const written = 4 << 20
	if err := d.Tx(ctx, func(tx *sql.Tx) error {
		for range written / 4096 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO blobs VALUES (randomblob(4000))`); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The commit leaves the pages in the log; the checkpointer, a few
	// tens of milliseconds later, in the database file. (Waits as long as
	// it takes: a checkpointer that never runs fails the test by its
	// timeout.)
	for size() < start+written*9/10 {
		time.Sleep(10 * time.Millisecond)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	for runtime.NumGoroutine() > before {
		time.Sleep(10 * time.Millisecond) // the pools' goroutines end too
	}
}
