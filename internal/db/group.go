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
	// par is how many groups may run at once.
	par int

	mu      sync.Mutex
	pending []*commitReq
	running int
	// txs holds, for each transaction running, what Once made in it and
	// the work Later put off to its end.
	txs map[*sql.Tx]*groupTx
}

// groupTx is what a running transaction holds besides its callers' work.
type groupTx struct {
	once  map[string]any
	later []func() error
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
	return &GroupCommit{db: d, keep: keep, par: 1, txs: map[*sql.Tx]*groupTx{}}
}

// Parallel lets up to n groups run at once, each in its own transaction,
// and returns g. It is for PostgreSQL, where transactions run side by
// side (SQLite has one writer); the work of a group then waits only where
// it needs what another group holds (a row lock), and what every group
// needs (the tenant's feed counter) is best taken at the end, with Later.
func (g *GroupCommit) Parallel(n int) *GroupCommit {
	g.par = max(1, n)
	return g
}

// Do runs fn in a transaction shared with other callers and returns fn's
// outcome once that transaction committed (or the error that failed it).
// Any error of fn that keep does not accept makes every caller of the
// group run again alone, so that one failure fails only its own caller.
func (g *GroupCommit) Do(fn func(tx *sql.Tx) error) error {
	r := &commitReq{fn: fn, done: make(chan error, 1)}
	g.mu.Lock()
	g.pending = append(g.pending, r)
	if g.running < g.par {
		g.running++
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
			g.running--
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
		g.begin(tx)
		defer g.end(tx)
		for i, r := range batch {
			err := r.fn(tx)
			if err != nil && !g.keep(err) {
				return err
			}
			results[i] = err
		}
		return g.runLater(tx)
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
			g.begin(tx)
			defer g.end(tx)
			if err := r.fn(tx); err != nil {
				return err
			}
			return g.runLater(tx)
		})
	}
}

func (g *GroupCommit) begin(tx *sql.Tx) {
	g.mu.Lock()
	g.txs[tx] = &groupTx{}
	g.mu.Unlock()
}

func (g *GroupCommit) end(tx *sql.Tx) {
	g.mu.Lock()
	delete(g.txs, tx)
	g.mu.Unlock()
}

func (g *GroupCommit) current(tx *sql.Tx) *groupTx {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.txs[tx]
}

// runLater runs the work put off to the end of tx, in the order it was
// put off (work may put off more).
func (g *GroupCommit) runLater(tx *sql.Tx) error {
	gt := g.current(tx)
	for i := 0; i < len(gt.later); i++ {
		if err := gt.later[i](); err != nil {
			return err
		}
	}
	return nil
}

// Later puts fn off to the end of the transaction tx, after the work of
// every caller of its group, just before the commit: work that needs what
// all groups need (the tenant's feed counter, locked until the commit)
// takes it there, so that groups running at once (Parallel) wait for each
// other only that long. Call it only from the work given to Do, with its
// transaction. An error of fn fails the transaction (each caller then runs
// alone); work that returns an error keep accepts must not have called
// Later.
func (g *GroupCommit) Later(tx *sql.Tx, fn func() error) {
	gt := g.current(tx)
	gt.later = append(gt.later, fn)
}

// Once returns what make returned the first time key was asked for in
// the transaction tx, calling make only then: work that shares a
// transaction shares what it needs once per transaction (a sequence
// number of the tenant's feed, say). Call it only from the work given to
// Do (or put off with Later), with its transaction, and make only in that
// transaction. An error is returned, not kept.
func (g *GroupCommit) Once(tx *sql.Tx, key string, make func() (any, error)) (any, error) {
	gt := g.current(tx)
	if v, ok := gt.once[key]; ok {
		return v, nil
	}
	v, err := make()
	if err != nil {
		return nil, err
	}
	if gt.once == nil {
		gt.once = map[string]any{}
	}
	gt.once[key] = v
	return v, nil
}
