package db

import (
	"context"
	"database/sql"
	"sync"
)

// Stmts is a Querier that prepares each query once and keeps it: SQLite
// parses a statement again on every unprepared call, which costs more than
// running a short query. Use it on hot paths with a fixed set of queries
// (never with SQL built per call: each text stays prepared for good).
type Stmts struct {
	db *sql.DB
	mu sync.RWMutex
	m  map[string]*sql.Stmt
}

// NewStmts returns a statement cache over d.
func NewStmts(d *sql.DB) *Stmts { return &Stmts{db: d, m: map[string]*sql.Stmt{}} }

// Stmt returns the prepared statement of query, preparing it on first use.
func (c *Stmts) Stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.RLock()
	st := c.m[query]
	c.mu.RUnlock()
	if st != nil {
		return st, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st = c.m[query]; st != nil {
		return st, nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.m[query] = st
	return st, nil
}

// ExecContext implements Querier.
func (c *Stmts) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := c.Stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// QueryContext implements Querier.
func (c *Stmts) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := c.Stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// QueryRowContext implements Querier. When the query cannot be prepared,
// the row carries the error of running it unprepared.
func (c *Stmts) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := c.Stmt(ctx, query)
	if err != nil {
		return c.db.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// In returns a Querier that runs inside tx (which must belong to the same
// *sql.DB) the statements already prepared; others run unprepared. It never
// prepares: with one connection (the SQLite writer) held by tx, preparing
// would wait for that connection forever. Call Stmt before the transaction
// to have a query prepared.
func (c *Stmts) In(tx *sql.Tx) Querier { return txStmts{c, tx} }

type txStmts struct {
	c  *Stmts
	tx *sql.Tx
}

func (t txStmts) cached(query string) *sql.Stmt {
	t.c.mu.RLock()
	defer t.c.mu.RUnlock()
	return t.c.m[query]
}

func (t txStmts) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.cached(query); st != nil {
		return t.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

func (t txStmts) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.cached(query); st != nil {
		return t.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

func (t txStmts) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.cached(query); st != nil {
		return t.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}

// Close closes every cached statement.
func (c *Stmts) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.m {
		st.Close()
		delete(c.m, q)
	}
	return nil
}
