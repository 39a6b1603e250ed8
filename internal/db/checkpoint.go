package db

import (
	"context"
	"database/sql"
	"time"
)

// The checkpointer copies SQLite's write-ahead log back into the database
// file from a connection of its own, on the other core, while the writer
// goes on writing. Left to the writer (wal_autocheckpoint), the copy
// happens inside the commit that crosses the threshold: every write of
// the process waits for it (a quarter of the time of a bulk import went
// into checkpoints and their system calls). A PASSIVE checkpoint takes no
// lock that a reader or the writer waits for. The writer still checkpoints
// itself past walSafetyPages, in case this one falls behind.

// Checkpoint pacing: every checkpointFast while the log grows, slowing
// down to checkpointIdle when there is nothing to copy.
const (
	checkpointFast = 50 * time.Millisecond
	checkpointIdle = time.Second
	walSafetyPages = 131072 // 512 MB of 4 KB pages
)

// checkpointer runs until ctx ends, then closes done.
func checkpointer(ctx context.Context, c *sql.DB, done chan<- struct{}) {
	defer close(done)
	wait := checkpointFast
	last := -1
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// busy is 1 when another checkpoint ran; frames is the log's
		// length and copied how many of them are in the database file.
		var busy, frames, copied int
		err := c.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied)
		switch {
		case err != nil || frames == last:
			wait = min(2*wait, checkpointIdle)
		default:
			wait = checkpointFast
		}
		last = frames
		t.Reset(wait)
	}
}
