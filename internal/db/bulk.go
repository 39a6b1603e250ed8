package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// BulkTx is a write transaction on a connection of its own. An Inserter
// made by Into on one copies its rows in on PostgreSQL (COPY: no statement
// to parse, bind and plan per batch, a third fewer server cycles a row than
// multi-row INSERTs); on SQLite it is a plain transaction.
type BulkTx struct {
	*sql.Tx
	conn *sql.Conn
}

// BeginBulk begins a BulkTx. Commit or roll it back: both release its
// connection.
func (db *DB) BeginBulk(ctx context.Context) (*BulkTx, error) {
	conn, err := db.W.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin transaction: %w", Translate(err))
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("begin transaction: %w", Translate(err))
	}
	return &BulkTx{Tx: tx, conn: conn}, nil
}

// Commit commits the transaction and releases its connection.
func (t *BulkTx) Commit() error {
	return errors.Join(t.Tx.Commit(), t.release())
}

// Rollback rolls the transaction back (once committed or rolled back, it
// does nothing) and releases its connection.
func (t *BulkTx) Rollback() error {
	err := t.Tx.Rollback()
	if errors.Is(err, sql.ErrTxDone) {
		err = nil
	}
	return errors.Join(err, t.release())
}

func (t *BulkTx) release() error {
	err := t.conn.Close()
	if errors.Is(err, sql.ErrConnDone) {
		return nil
	}
	return err
}

// BulkTx runs fn in a BulkTx as Tx does in a plain transaction.
func (db *DB) BulkTx(ctx context.Context, fn func(tx *BulkTx) error) error {
	tx, err := db.BeginBulk(ctx)
	if err != nil {
		return err
	}
	return finish(tx, func() error { return fn(tx) })
}

// copyFrom copies rows into table's columns through the transaction's
// connection (PostgreSQL only).
func (t *BulkTx) copyFrom(ctx context.Context, table string, cols []string, rows [][]any) error {
	return t.conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("copy into %s: not a PostgreSQL connection", table)
		}
		_, err := c.Conn().CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
		return err
	})
}
