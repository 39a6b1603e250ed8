// Package db opens the avis database, SQLite by default or PostgreSQL, and
// holds what the stores share: dialect helpers, migrations, transactions,
// identifiers and the sentinel errors that driver codes turn into.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib" // also registers the "pgx" database/sql driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect names the SQL flavour of a database.
type Dialect string

// The two dialects avis speaks.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Sentinel errors that stores return; driver error codes are turned into
// these at the boundary by Translate.
var (
	// ErrNotFound is returned when a row asked for does not exist (in the
	// caller's tenant).
	ErrNotFound = errors.New("not found")
	// ErrConflict is returned when a write breaks a unique constraint.
	ErrConflict = errors.New("already exists")
	// ErrReference is returned when a write breaks a foreign key.
	ErrReference = errors.New("refers to something that does not exist")
)

// DB is an open avis database. W takes writes (on SQLite it is the single
// writer connection); R serves reads (a pool; on PostgreSQL the same pool as
// W).
type DB struct {
	Dialect Dialect
	W       *sql.DB
	R       *sql.DB
	// Path is the SQLite file path, empty on PostgreSQL.
	Path string
	// Safe is a description of the database fit for logs: no password.
	Safe string
}

// Options tune Open.
type Options struct {
	// MaxConns bounds the PostgreSQL pool and the SQLite read pool.
	MaxConns int
}

// Open opens the database that rawURL names. An empty URL means SQLite in
// dataDir/avis.db. "sqlite:PATH" or a path ending in .db opens that SQLite
// file; "postgres://" or "postgresql://" opens PostgreSQL through pgx.
func Open(ctx context.Context, rawURL, dataDir string, opt Options) (*DB, error) {
	if opt.MaxConns <= 0 {
		opt.MaxConns = 8
	}
	switch {
	case rawURL == "":
		return openSQLite(ctx, filepath.Join(dataDir, "avis.db"), opt)
	case strings.HasPrefix(rawURL, "sqlite:"):
		return openSQLite(ctx, strings.TrimPrefix(strings.TrimPrefix(rawURL, "sqlite:"), "//"), opt)
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		return openPostgres(ctx, rawURL, opt)
	default:
		return nil, fmt.Errorf("database URL %q is not understood: use postgres://user:pass@host:5432/dbname, sqlite:/path/to/avis.db, or leave it empty for SQLite in the data directory", Redact(rawURL))
	}
}

// Redact returns the URL with any password replaced, fit for logs and errors.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.User == nil {
		if err != nil && strings.Contains(rawURL, "@") {
			return "(unparseable URL)"
		}
		return rawURL
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

func sqliteDSN(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "journal_mode(WAL)")
	if readOnly {
		// Read transactions (a snapshot for several queries) begin
		// deferred: an immediate BEGIN takes the write lock, which a
		// query-only connection refuses.
		q.Add("_pragma", "query_only(1)")
		q.Add("_pragma", "cache_size(-8000)")
	} else {
		q.Add("_txlock", "immediate")
		// The single writer gets a larger page cache (imports insert into
		// several indexes of random keys) and checkpoints less often.
		q.Add("_pragma", "cache_size(-32000)")
		q.Add("_pragma", "wal_autocheckpoint(4000)")
	}
	return "file:" + path + "?" + q.Encode()
}

func openSQLite(ctx context.Context, path string, opt Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("SQLite path is empty: give --data DIR or --db sqlite:/path/to/avis.db")
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create data directory %s: %w (choose another with --data or fix its permissions)", dir, err)
	}
	if err := checkWritable(dir); err != nil {
		return nil, err
	}
	w, err := sql.Open("sqlite", sqliteDSN(path, false))
	if err != nil {
		return nil, fmt.Errorf("open SQLite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open SQLite %s: %w (is it a SQLite database, and is the directory writable?)", path, err)
	}
	r, err := sql.Open("sqlite", sqliteDSN(path, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open SQLite %s for reading: %w", path, err)
	}
	r.SetMaxOpenConns(opt.MaxConns)
	r.SetMaxIdleConns(opt.MaxConns)
	return &DB{Dialect: SQLite, W: w, R: r, Path: path, Safe: "sqlite:" + path}, nil
}

func checkWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".write-test-*")
	if err != nil {
		return fmt.Errorf("data directory %s is not writable: %w (choose another with --data or fix its permissions)", dir, err)
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	return nil
}

func openPostgres(ctx context.Context, rawURL string, opt Options) (*DB, error) {
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("database URL %s is not valid: %w", Redact(rawURL), err)
	}
	// avis looks rows up by batches of ids (IN lists of a few hundred).
	// With PostgreSQL's default random_page_cost of 4 (spinning disks), the
	// planner scans whole tables of 30,000 rows instead of probing their
	// primary key 256 times: ten times slower. 1.1 is the usual setting for
	// SSDs and cached data; a random_page_cost in the URL wins.
	if _, set := cfg.RuntimeParams["random_page_cost"]; !set {
		cfg.RuntimeParams["random_page_cost"] = "1.1"
	}
	p := stdlib.OpenDB(*cfg)
	p.SetMaxOpenConns(opt.MaxConns)
	p.SetMaxIdleConns(opt.MaxConns)
	p.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := p.PingContext(pctx); err != nil {
		p.Close()
		return nil, fmt.Errorf("cannot reach PostgreSQL at %s: %w (is the server running, and are the host, port, user and password right?)", Redact(rawURL), err)
	}
	return &DB{Dialect: Postgres, W: p, R: p, Safe: Redact(rawURL)}, nil
}

// Close closes both pools.
func (db *DB) Close() error {
	err := db.W.Close()
	if db.R != db.W {
		err = errors.Join(err, db.R.Close())
	}
	return err
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.W.PingContext(ctx); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

// Tx runs fn in a write transaction and commits it when fn returns nil. Any
// error, or a panic, rolls it back. The error is passed through Translate.
func (db *DB) Tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.W.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", Translate(err))
	}
	return finish(tx, func() error { return fn(tx) })
}

// finish runs fn in tx and commits tx when fn returns nil. Any error, or a
// panic, rolls it back. The error is passed through Translate.
func finish(tx interface {
	Commit() error
	Rollback() error
}, fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(); err != nil {
		return Translate(err)
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", Translate(err))
	}
	return nil
}

// Querier is what both *sql.DB and *sql.Tx offer; stores take it so that the
// same method runs inside or outside a transaction.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Translate turns driver errors into the package sentinels (wrapping the
// original so that its text is kept) and sql.ErrNoRows into ErrNotFound.
func Translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) || errors.Is(err, ErrReference) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %w", ErrConflict, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w: %w", ErrReference, err)
		}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return fmt.Errorf("%w: %w", ErrConflict, err)
		case "23503":
			return fmt.Errorf("%w: %w", ErrReference, err)
		}
	}
	return err
}

// Now returns the current time as stored: Unix microseconds, UTC.
func Now() int64 { return time.Now().UnixMicro() }

// Time turns a stored timestamp back into a time.Time (UTC); 0 is the zero
// time.
func Time(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// Stamp turns a time into its stored form; the zero time is 0.
func Stamp(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// Arg returns the placeholder of the n-th argument (from 1) for statements
// built with many arguments: "$n" on PostgreSQL, a plain "?" on SQLite. On
// SQLite "$n" and "?n" are kept in a list that the driver searches for every
// argument it binds, which makes a statement with thousands of arguments
// quadratic. So a statement built with Arg must use each argument once, in
// order.
func (d Dialect) Arg(n int) string {
	if d == SQLite {
		return "?"
	}
	return "$" + strconv.Itoa(n)
}

// EachIn calls fn with the condition that a column holds one of values
// (to follow the column) and args with the values appended, as many times
// as the dialect needs. On SQLite the condition is " IN (?,?,…)", 900
// values at a time (each is an argument, and SQLite's limit is near). On
// PostgreSQL it is " = ANY($n)", once, all the values one array argument:
// the statement is the same whatever their number, parsed and planned
// once, where lists of hundreds of parameters cost the server more than
// the lookups.
func EachIn[T string | []byte](d Dialect, args []any, values []T, fn func(cond string, args []any) error) error {
	per := len(values)
	if d == SQLite {
		per = 900
	}
	for start := 0; start < len(values); start += per {
		chunk := values[start:min(start+per, len(values))]
		a := args[:len(args):len(args)] // each call its own arguments
		var cond string
		if d == Postgres {
			a = append(a, chunk)
			cond = " = ANY(" + d.Arg(len(a)) + ")"
		} else {
			var list string
			list, a = InList(d, a, chunk)
			cond = " IN " + list
		}
		if err := fn(cond, a); err != nil {
			return err
		}
	}
	return nil
}

// InList appends values to args and returns the "(…, …)" list of their
// placeholders for an IN clause, numbered after the arguments args held.
func InList[T any](d Dialect, args []any, values []T) (string, []any) {
	var sb strings.Builder
	sb.WriteByte('(')
	for i, v := range values {
		if i > 0 {
			sb.WriteByte(',')
		}
		args = append(args, v)
		sb.WriteString(d.Arg(len(args)))
	}
	sb.WriteByte(')')
	return sb.String(), args
}
