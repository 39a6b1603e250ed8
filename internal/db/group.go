package db

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// GroupCommit runs the small transactions of concurrent callers together
// (group commit): the work that arrives while one transaction commits
// shares the next. A commit costs a write of the WAL (SQLite) or a round
// trip and a flush (PostgreSQL) whatever it holds, so a group costs about
// one. Each caller still gets its own outcome, and only once its change is
// durable, so nothing is acknowledged that is not committed.
type GroupCommit struct {
	db *DB
	// keep tells which errors of a caller's work are that caller's outcome
	// without failing the group (the work wrote nothing).
	keep func(error) bool

	mu      sync.Mutex
	pending []*commitReq
	running bool
	// once holds what Once made in the current transaction; only the
	// goroutine that commits uses it.
	once map[string]any
}

// commitReq is one caller's work and where its outcome goes.
type commitReq struct {
	fn   func(tx *sql.Tx) error
	done chan error
}

// maxGroup bounds the work of one grouped transaction.
const maxGroup = 128

// NewGroupCommit returns a GroupCommit on d's writer. An error of a
// caller's work for which keep returns true (keep may be nil) is that
// caller's outcome and does not fail the others: the work must have
// written nothing when it returns such an error.
func NewGroupCommit(d *DB, keep func(error) bool) *GroupCommit {
	if keep == nil {
		keep = func(error) bool { return false }
	}
	return &GroupCommit{db: d, keep: keep}
}

// Do runs fn in a transaction shared with other callers and returns fn's
// outcome once that transaction committed (or the error that failed it).
// Any error of fn that keep does not accept makes every caller of the
// group run again alone, so that one failure fails only its own caller.
func (g *GroupCommit) Do(fn func(tx *sql.Tx) error) error {
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
func (g *GroupCommit) loop() {
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
func (g *GroupCommit) run(batch []*commitReq) {
	// Not tied to one caller's context: once a change is committed, its
	// caller must hear it (a message marked sent must go).
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	results := make([]error, len(batch))
	err := g.db.Tx(ctx, func(tx *sql.Tx) error {
		g.once = nil
		for i, r := range batch {
			err := r.fn(tx)
			if err != nil && !g.keep(err) {
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
		r.done <- g.db.Tx(ctx, func(tx *sql.Tx) error {
			g.once = nil
			return r.fn(tx)
		})
	}
}

// Once returns what make returned the first time key was asked for in
// the current transaction, calling make only then: work that shares a
// transaction shares what it needs once per transaction (a sequence
// number of the tenant's feed, say). Call it only from the work given to
// Do, and make only in that transaction. An error is returned, not kept.
func (g *GroupCommit) Once(key string, make func() (any, error)) (any, error) {
	if v, ok := g.once[key]; ok {
		return v, nil
	}
	v, err := make()
	if err != nil {
		return nil, err
	}
	if g.once == nil {
		g.once = map[string]any{}
	}
	g.once[key] = v
	return v, nil
}
