package db

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Preparer is a Querier that can prepare a statement (*sql.DB, *sql.Tx, *sql.Conn).
type Preparer interface {
	Querier
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// Inserter inserts many rows into one table through q: on PostgreSQL a
// multi-row INSERT per 500 rows (one round trip each); on SQLite one
// prepared single-row INSERT per row, because SQLite copies every page a
// multi-row statement touches into a statement journal (so that the
// statement alone can be undone), which costs more than the statement.
// Made by Into on a BulkTx, on PostgreSQL, it copies its rows in instead.
// After an error the Inserter has released what it held: return the error,
// there is nothing to close.
type Inserter struct {
	d          Dialect
	q          Querier
	head, tail string
	ncols      int
	stmt       *sql.Stmt
	sb         strings.Builder
	args       []any
	// With Into on a BulkTx on PostgreSQL: the rows to copy into table.
	bulk  *BulkTx
	table string
	cols  []string
	rows  [][]any
}

// insertRows is how many rows one PostgreSQL statement carries, copyRows
// how many one COPY does.
const (
	insertRows = 500
	copyRows   = 5000
)

// NewInserter returns an Inserter of rows of ncols values into the table
// and columns that head names: "INSERT INTO t (a, b) VALUES ".
func NewInserter(d Dialect, q Querier, head string, ncols int) *Inserter {
	return &Inserter{d: d, q: q, head: head, ncols: ncols}
}

// Into returns an Inserter of rows into table's columns; tag names the
// caller in its statements ("contact.Store.Import"). On a BulkTx on
// PostgreSQL it copies the rows in.
func Into(d Dialect, q Querier, tag, table string, cols ...string) *Inserter {
	in := NewInserter(d, q, "/* "+tag+" */ INSERT INTO "+table+" ("+strings.Join(cols, ", ")+") VALUES ", len(cols))
	if bt, ok := q.(*BulkTx); ok && d == Postgres {
		in.bulk, in.table, in.cols = bt, table, cols
	}
	return in
}

// WithTail sets what follows the rows' values in each statement, such as
// " ON CONFLICT DO NOTHING", and returns in.
func (in *Inserter) WithTail(tail string) *Inserter {
	in.tail = tail
	in.bulk = nil // COPY has no tail
	return in
}

// Add inserts one row (at once on SQLite, at the next Flush or with the
// 500th row on PostgreSQL).
func (in *Inserter) Add(ctx context.Context, vals ...any) (err error) {
	defer func() {
		if err != nil {
			in.release()
		}
	}()
	if len(vals) != in.ncols {
		return fmt.Errorf("insert: %d values for %d columns", len(vals), in.ncols)
	}
	if in.bulk != nil {
		in.rows = append(in.rows, append([]any(nil), vals...))
		if len(in.rows) >= copyRows {
			return in.Flush(ctx)
		}
		return nil
	}
	if in.d == SQLite {
		if p, ok := in.q.(Preparer); ok {
			if in.stmt == nil {
				s, err := p.PrepareContext(ctx, in.head+argList(in.d, 0, in.ncols)+in.tail)
				if err != nil {
					return err
				}
				in.stmt = s
			}
			_, err := in.stmt.ExecContext(ctx, vals...)
			return err
		}
	}
	if len(in.args) == 0 {
		in.sb.WriteString(in.head)
	} else {
		in.sb.WriteByte(',')
	}
	in.sb.WriteString(argList(in.d, len(in.args), in.ncols))
	in.args = append(in.args, vals...)
	if len(in.args) >= insertRows*in.ncols {
		return in.Flush(ctx)
	}
	return nil
}

// Flush writes the rows not yet written.
func (in *Inserter) Flush(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			in.release()
		}
	}()
	if in.bulk != nil && len(in.rows) > 0 {
		err = in.bulk.copyFrom(ctx, in.table, in.cols, in.rows)
		in.rows = in.rows[:0]
		return err
	}
	if len(in.args) == 0 {
		return nil
	}
	_, err = in.q.ExecContext(ctx, in.sb.String()+in.tail, in.args...)
	in.sb.Reset()
	in.args = in.args[:0]
	return err
}

// Close flushes and releases the prepared statement.
func (in *Inserter) Close(ctx context.Context) error {
	err := in.Flush(ctx)
	in.release()
	return err
}

func (in *Inserter) release() {
	if in.stmt != nil {
		in.stmt.Close()
		in.stmt = nil
	}
}

func argList(d Dialect, from, n int) string {
	var sb strings.Builder
	sb.WriteByte('(')
	for i := 1; i <= n; i++ {
		if i > 1 {
			sb.WriteByte(',')
		}
		sb.WriteString(d.Arg(from + i))
	}
	sb.WriteByte(')')
	return sb.String()
}
