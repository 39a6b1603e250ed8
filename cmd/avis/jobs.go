package main

import (
	"context"
	"time"

	"github.com/riverqueue/river"
)

// purgeArgs is the periodic clean-up of expired sessions and old login
// counters (retention rules "session" and "throttle" of the data map).
type purgeArgs struct{}

func (purgeArgs) Kind() string { return "maintenance.purge" }

type purgeWorker struct {
	river.WorkerDefaults[purgeArgs]
	a *app
}

func (w *purgeWorker) Work(ctx context.Context, _ *river.Job[purgeArgs]) error {
	return w.a.accounts.Prune(ctx)
}

func registerWorkers(ws *river.Workers, a *app) {
	river.AddWorker(ws, &purgeWorker{a: a})
}

func periodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(time.Hour), func() (river.JobArgs, *river.InsertOpts) {
			return purgeArgs{}, nil
		}, &river.PeriodicJobOpts{RunOnStart: true}),
	}
}
