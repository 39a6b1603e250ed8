// Package jobs is avis's durable job queue, built on River
// (github.com/riverqueue/river) over the avis database: SQLite or PostgreSQL,
// whichever internal/db opened. River's tables are created by db.Migrate.
//
// A job is inserted in the same transaction as the change that causes it
// (Queue.InsertTx), so it exists exactly when that change committed: a rolled
// back transaction leaves no job behind, and a committed one cannot lose its
// job to a crash. Jobs are retried with backoff when their worker fails, and a
// process that stops lets running jobs finish for a while, then cancels them
// and puts them back to be worked again (Queue.Stop).
//
// # Job args carry ids only
//
// The job table is not the vault: its rows are kept for a day after they
// complete (a week when discarded), copied into error reports and readable by
// anyone who can read the queue. Job args structs must therefore carry
// identifiers only (tenant id, contact id, response id, …), never personal
// data such as names, email addresses or phone numbers; the worker loads what
// it needs, through the vault, when it runs. Queue.Insert and Queue.InsertTx
// enforce a cheap version of that rule with CheckArgs, which refuses args that
// look like they hold an email address or a phone number.
//
// # Roles
//
// A process of role "web" builds its Queue with Options.Work false: it inserts
// jobs but works none. Roles "worker" and "all" work the default queue; when
// several processes share one PostgreSQL database, River elects one of them to
// enqueue periodic jobs and run maintenance.
//
// # SQLite
//
// On SQLite River uses d.W, the single writer connection, like every other
// writer. A worker that holds a transaction open on d.W must enqueue with
// InsertTx on that transaction: Insert would wait for the connection its own
// transaction holds.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"

	"avis/internal/db"
)

// Defaults for the zero values of Options.
const (
	DefaultWorkers         = 10
	DefaultShutdownTimeout = 30 * time.Second
	DefaultPollInterval    = 100 * time.Millisecond
)

// fetchCooldown is the shortest time between two fetches of jobs.
const fetchCooldown = 5 * time.Millisecond

// Options tune New.
type Options struct {
	// Work is false for role "web": the Queue only inserts jobs and works
	// none, and Periodic is ignored.
	Work bool
	// Workers bounds how many jobs of the default queue run at once (default
	// 10).
	Workers int
	// ShutdownTimeout is how long Stop lets running jobs finish before it
	// cancels their contexts (default 30s).
	ShutdownTimeout time.Duration
	// PollInterval is how often the queue looks for new jobs (default
	// 100ms). It bounds the delay between a commit and the start of its job.
	PollInterval time.Duration
	// Periodic are the jobs enqueued on a schedule (reminders, retention
	// purge, exports). Only the elected leader among working processes
	// enqueues them.
	Periodic []*river.PeriodicJob
}

// Queue is the job queue of one avis process.
type Queue struct {
	// Client is the River client, for what Queue does not wrap (unique job
	// options, listing and cancelling jobs, subscriptions).
	Client *river.Client[*sql.Tx]

	work    bool
	metrics *collector
}

// New builds the River client for d's dialect. workers may be nil when
// !o.Work; when given, inserting a job of a kind that has no worker is an
// error.
func New(d *db.DB, log *slog.Logger, workers *river.Workers, o Options) (*Queue, error) {
	if d == nil {
		return nil, errors.New("jobs: no database")
	}
	if log == nil {
		return nil, errors.New("jobs: no logger")
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.Work && workers == nil {
		return nil, errors.New("jobs: a queue that works jobs needs workers")
	}

	var driver riverdriver.Driver[*sql.Tx]
	switch d.Dialect {
	case db.SQLite:
		driver = riversqlite.New(d.W)
	case db.Postgres:
		driver = riverdatabasesql.New(d.W)
	default:
		return nil, fmt.Errorf("jobs: unknown database dialect %q", d.Dialect)
	}

	m := newCollector(d)
	cfg := &river.Config{
		Logger: slog.New(minLevel{h: log.Handler(), min: slog.LevelWarn}).With("component", "river"),
		// Neither database/sql driver offers LISTEN, and SQLite's emulation
		// would poll the single writer connection once more: poll for jobs.
		PollOnly:          true,
		FetchPollInterval: o.PollInterval,
		// The cooldown bounds throughput while the queue is busy: each
		// fetch fills the free worker slots, at most once per cooldown.
		// River's 100 ms would cap a sending run at Workers×10 jobs/s.
		FetchCooldown:   min(o.PollInterval, fetchCooldown),
		SoftStopTimeout: o.ShutdownTimeout,
		Middleware:      []rivertype.Middleware{&argsGuard{}, m.runs},
		Workers:         workers,
	}
	if o.Work {
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: o.Workers}}
		cfg.PeriodicJobs = o.Periodic
	}
	c, err := river.NewClient(driver, cfg)
	if err != nil {
		return nil, fmt.Errorf("jobs: create River client: %w", err)
	}
	return &Queue{Client: c, work: o.Work, metrics: m}, nil
}

// Start starts working jobs. It does nothing when the Queue does not work
// jobs. The queue runs until Stop: cancelling ctx does not stop it.
func (q *Queue) Start(ctx context.Context) error {
	if !q.work {
		return nil
	}
	if err := q.Client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	return nil
}

// Stop stops fetching new jobs, waits up to ShutdownTimeout for running jobs,
// then cancels them (River then puts them back as available so another
// process or the next start picks them up, without counting the interrupted
// attempt). It returns once every job has returned, or with ctx's error when
// ctx ends first. Safe to call twice, and when the queue never started.
func (q *Queue) Stop(ctx context.Context) error {
	if !q.work {
		return nil
	}
	if err := q.Client.Stop(ctx); err != nil {
		return fmt.Errorf("jobs: stop: %w", err)
	}
	return nil
}

// InsertTx enqueues a job in the caller's transaction: the job exists if and
// only if tx commits. args must pass CheckArgs. opts may be nil.
func (q *Queue) InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) error {
	if err := CheckArgs(args); err != nil {
		return fmt.Errorf("jobs: insert: %w", err)
	}
	if _, err := q.Client.InsertTx(ctx, tx, args, opts); err != nil {
		return fmt.Errorf("jobs: insert %s: %w", args.Kind(), err)
	}
	return nil
}

// Insert enqueues a job outside any transaction. Prefer InsertTx when the job
// follows from a change to the database. args must pass CheckArgs. opts may
// be nil.
func (q *Queue) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	if err := CheckArgs(args); err != nil {
		return fmt.Errorf("jobs: insert: %w", err)
	}
	if _, err := q.Client.Insert(ctx, args, opts); err != nil {
		return fmt.Errorf("jobs: insert %s: %w", args.Kind(), err)
	}
	return nil
}

// minLevel is a slog.Handler that passes on only records at or above min, so
// that River's routine chatter stays out of avis's logs.
type minLevel struct {
	h   slog.Handler
	min slog.Level
}

func (m minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.min && m.h.Enabled(ctx, l)
}

func (m minLevel) Handle(ctx context.Context, r slog.Record) error { return m.h.Handle(ctx, r) }

func (m minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{h: m.h.WithAttrs(as), min: m.min}
}

func (m minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h: m.h.WithGroup(name), min: m.min}
}
