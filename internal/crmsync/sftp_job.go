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

// FetchTimeout bounds one fetch job; a fetch cut short leaves the files it
// did not finish in the folder for the next run.
const FetchTimeout = 10 * time.Minute

// FetchArgs asks for one fetch of an SFTP source. It carries ids only.
type FetchArgs struct {
	TenantID string `json:"tenant_id"`
	SourceID string `json:"source_id"`
}

// Kind implements river.JobArgs.
func (FetchArgs) Kind() string { return "crmsync.sftp_fetch" }

// InsertOpts implements river.JobArgsWithInsertOpts: one fetch per source
// waits or runs at a time, and a failed fetch is not retried by the queue
// (the schedule runs it again after the source's interval, and the source
// shows the error meanwhile).
func (FetchArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		MaxAttempts: 1,
		UniqueOpts: river.UniqueOpts{
			ByArgs: true,
			ByState: []rivertype.JobState{
				rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
				rivertype.JobStateRunning, rivertype.JobStateScheduled,
			},
		},
	}
}

// FetchWorker runs FetchArgs jobs: it fetches the source with Importer,
// unless the source was deleted or disabled since the job was enqueued.
type FetchWorker struct {
	river.WorkerDefaults[FetchArgs]
	// Store holds the sources.
	Store *Store
	// Importer is the contact import engine.
	Importer Importer
}

// Timeout implements river.Worker: FetchTimeout.
func (w *FetchWorker) Timeout(*river.Job[FetchArgs]) time.Duration { return FetchTimeout }

// Work implements river.Worker.
func (w *FetchWorker) Work(ctx context.Context, job *river.Job[FetchArgs]) error {
	src, err := w.Store.Get(ctx, job.Args.TenantID, job.Args.SourceID)
	if errors.Is(err, db.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !src.Enabled {
		return nil
	}
	_, err = w.Store.fetch(ctx, src, w.Importer)
	return err
}

// ScheduleArgs asks for a fetch job for every SFTP source that is due. It is
// meant to run as a periodic job every minute (see SchedulePeriodicJob).
type ScheduleArgs struct{}

// Kind implements river.JobArgs.
func (ScheduleArgs) Kind() string { return "crmsync.sftp_schedule" }

// ScheduleWorker runs ScheduleArgs jobs: it enqueues FetchArgs for every
// source Store.Due returns, through the River client working the job.
type ScheduleWorker struct {
	river.WorkerDefaults[ScheduleArgs]
	// Store holds the sources.
	Store *Store
}

// Work implements river.Worker.
func (w *ScheduleWorker) Work(ctx context.Context, _ *river.Job[ScheduleArgs]) error {
	due, err := w.Store.Due(ctx, w.Store.now())
	if err != nil {
		return err
	}
	if len(due) == 0 {
		return nil
	}
	client, err := river.ClientFromContextSafely[*sql.Tx](ctx)
	if err != nil {
		return fmt.Errorf("schedule SFTP fetches: %w", err)
	}
	params := make([]river.InsertManyParams, len(due))
	for i, src := range due {
		params[i] = river.InsertManyParams{Args: FetchArgs{TenantID: src.TenantID, SourceID: src.ID}}
	}
	if _, err := client.InsertMany(ctx, params); err != nil {
		return fmt.Errorf("schedule SFTP fetches: %w", err)
	}
	return nil
}

// AddWorkers registers FetchWorker and ScheduleWorker with ws.
func AddWorkers(ws *river.Workers, s *Store, imp Importer) {
	river.AddWorker(ws, &FetchWorker{Store: s, Importer: imp})
	river.AddWorker(ws, &ScheduleWorker{Store: s})
}

// SchedulePeriodicJob returns the periodic job that enqueues ScheduleArgs
// every minute, for jobs.Options.Periodic.
func SchedulePeriodicJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(time.Minute), func() (river.JobArgs, *river.InsertOpts) {
		return ScheduleArgs{}, nil
	}, &river.PeriodicJobOpts{ID: "crmsync.sftp_schedule", RunOnStart: true})
}
