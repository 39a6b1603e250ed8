package dispatch

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"

	"avis/internal/db"
)

// groupCommit runs the "mark sent" transactions of concurrent sends
// together: the sends that arrive while one transaction commits share the
// next. A commit costs a write of the WAL (SQLite) or a round trip and a
// flush (PostgreSQL) whatever it holds, so a batch of them costs about one.
// Each caller still gets its own outcome, and still only after its change
// is durable: exactly once is unchanged (commit, then the final dot).
type groupCommit struct {
	db *db.DB

	mu      sync.Mutex
	pending []*commitReq
	running bool
}

// commitReq is one caller's work and where its outcome goes.
type commitReq struct {
	fn   func(tx *sql.Tx) error
	done chan error
}

// maxGroup bounds the work of one grouped transaction.
const maxGroup = 128

// do runs fn in a transaction shared with other callers and returns its
// outcome once that transaction committed (or failed). errNotCommitted
// from fn is that caller's outcome and does not fail the others; any other
// error of fn makes every caller of the group run again alone, so that one
// failure fails only its own caller. fn must not write before it knows it
// will succeed or return errNotCommitted.
func (g *groupCommit) do(fn func(tx *sql.Tx) error) error {
	r := &commitReq{fn: fn, done: make(chan error, 1)}
	g.mu.Lock()
	g.pending = append(g.pending, r)
	if !g.running {
		g.running = true
		go g.loop()
	}
	g.mu.Unlock()
	return <-r.done
}

// loop commits the pending work, group after group, until none is left.
func (g *groupCommit) loop() {
	for {
		g.mu.Lock()
		batch := g.pending
		if len(batch) > maxGroup {
			batch, g.pending = batch[:maxGroup:maxGroup], batch[maxGroup:]
		} else {
			g.pending = nil
		}
		if len(batch) == 0 {
			g.running = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		g.run(batch)
	}
}

// run commits one group.
func (g *groupCommit) run(batch []*commitReq) {
	// Not tied to one caller's context: once a change is committed, its
	// caller must hear it, or a message would be marked sent and never go.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	results := make([]error, len(batch))
	err := g.db.Tx(ctx, func(tx *sql.Tx) error {
		for i, r := range batch {
			err := r.fn(tx)
			if err != nil && !errors.Is(err, errNotCommitted) {
				return err
			}
			results[i] = err
		}
		return nil
	})
	if err == nil || len(batch) == 1 {
		for i, r := range batch {
			if err != nil {
				r.done <- err
			} else {
				r.done <- results[i]
			}
		}
		return
	}
	// One of them failed the group: each alone.
	for _, r := range batch {
		r.done <- g.db.Tx(ctx, r.fn)
	}
}
