package crmsync

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"avis/internal/db"
)

// ExportTimeout bounds one export run; a run cut short leaves no final
// file and its rows are exported again by the next run.
const ExportTimeout = time.Hour

// ExportAttempts is how many times a failed run is tried before the
// schedule waits for its next time.
const ExportAttempts = 5

// ExportArgs asks for one run of an export schedule. It carries ids only.
type ExportArgs struct {
	TenantID   string `json:"tenant_id" river:"unique"`
	ScheduleID string `json:"schedule_id" river:"unique"`
	// Cause is CauseSchedule or CauseManual (not part of the job's
	// uniqueness: one run per schedule waits or runs at a time).
	Cause string `json:"cause"`
}

// Kind implements river.JobArgs.
func (ExportArgs) Kind() string { return "crmsync.export" }

// InsertOpts implements river.JobArgsWithInsertOpts: one run per schedule
// waits, runs or waits for its retry at a time, whatever caused it.
func (ExportArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		MaxAttempts: ExportAttempts,
		UniqueOpts: river.UniqueOpts{
			ByArgs: true,
			ByState: []rivertype.JobState{
				rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
				rivertype.JobStateRunning, rivertype.JobStateScheduled,
			},
		},
	}
}

// exportBackoff is the wait before each retry of a failed run.
var exportBackoff = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour}

// ExportWorker runs ExportArgs jobs, unless the schedule was deleted, or
// disabled before a scheduled run.
type ExportWorker struct {
	river.WorkerDefaults[ExportArgs]
	// Store holds the schedules.
	Store *ExportStore
	// Backoff replaces exportBackoff (tests).
	Backoff []time.Duration
}

// Timeout implements river.Worker: ExportTimeout.
func (w *ExportWorker) Timeout(*river.Job[ExportArgs]) time.Duration { return ExportTimeout }

// NextRetry implements river.Worker: 1 minute, 5 minutes, 15 minutes, then
// an hour.
func (w *ExportWorker) NextRetry(job *river.Job[ExportArgs]) time.Time {
	b := w.Backoff
	if b == nil {
		b = exportBackoff
	}
	i := min(max(job.Attempt-1, 0), len(b)-1)
	return time.Now().Add(b[i])
}

// Work implements river.Worker.
func (w *ExportWorker) Work(ctx context.Context, job *river.Job[ExportArgs]) error {
	sc, err := w.Store.Get(ctx, job.Args.TenantID, job.Args.ScheduleID)
	if errors.Is(err, db.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !sc.Enabled && job.Args.Cause != CauseManual {
		return nil
	}
	cause := job.Args.Cause
	if cause == "" {
		cause = CauseSchedule
	}
	_, err = w.Store.run(ctx, sc, cause)
	return err
}

// ExportScheduleArgs asks for a run of every export schedule that is due.
// It runs as a periodic job every minute (ExportPeriodicJob).
type ExportScheduleArgs struct{}

// Kind implements river.JobArgs.
func (ExportScheduleArgs) Kind() string { return "crmsync.export_schedule" }

// ExportScheduleWorker runs ExportScheduleArgs jobs: for each due schedule
// it enqueues ExportArgs and sets the schedule's next run, in one
// transaction; it also purges the export log of entries older than
// KeepRuns.
type ExportScheduleWorker struct {
	river.WorkerDefaults[ExportScheduleArgs]
	// Store holds the schedules.
	Store *ExportStore
}

// Work implements river.Worker.
func (w *ExportScheduleWorker) Work(ctx context.Context, _ *river.Job[ExportScheduleArgs]) error {
	if err := w.Store.PurgeRuns(ctx); err != nil {
		return err
	}
	now := w.Store.now()
	due, err := w.Store.Due(ctx, now)
	if err != nil || len(due) == 0 {
		return err
	}
	client, err := river.ClientFromContextSafely[*sql.Tx](ctx)
	if err != nil {
		return fmt.Errorf("schedule exports: %w", err)
	}
	return w.Store.Enqueue(ctx, client, due, now)
}

// Enqueue inserts a run of each schedule and sets its next run after now,
// in one transaction.
func (s *ExportStore) Enqueue(ctx context.Context, client *river.Client[*sql.Tx], due []Schedule, now time.Time) error {
	err := s.d.Tx(ctx, func(tx *sql.Tx) error {
		params := make([]river.InsertManyParams, len(due))
		for i, sc := range due {
			params[i] = river.InsertManyParams{Args: ExportArgs{TenantID: sc.TenantID, ScheduleID: sc.ID, Cause: CauseSchedule}}
			if err := s.advance(ctx, tx, sc, now); err != nil {
				return err
			}
		}
		_, err := client.InsertManyTx(ctx, tx, params)
		return err
	})
	if err != nil {
		return fmt.Errorf("schedule exports: %w", err)
	}
	return nil
}

// AddExportWorkers registers ExportWorker and ExportScheduleWorker with ws.
func AddExportWorkers(ws *river.Workers, s *ExportStore) {
	river.AddWorker(ws, &ExportWorker{Store: s})
	river.AddWorker(ws, &ExportScheduleWorker{Store: s})
}

// ExportPeriodicJob returns the periodic job that enqueues
// ExportScheduleArgs every minute, for jobs.Options.Periodic.
func ExportPeriodicJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(time.Minute), func() (river.JobArgs, *river.InsertOpts) {
		return ExportScheduleArgs{}, nil
	}, &river.PeriodicJobOpts{ID: "crmsync.export_schedule", RunOnStart: true})
}
