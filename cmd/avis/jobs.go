package main

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"avis/internal/audit"
	"avis/internal/contact"
	"avis/internal/crmsync"
	"avis/internal/dispatch"
	"avis/internal/idempotency"
)

// purgeArgs is the periodic clean-up of expired sessions, old login
// counters and API idempotency records (retention rules "session",
// "throttle" and "idempotency-24h" of the data map).
type purgeArgs struct{}

func (purgeArgs) Kind() string { return "maintenance.purge" }

type purgeWorker struct {
	river.WorkerDefaults[purgeArgs]
	a *app
}

func (w *purgeWorker) Work(ctx context.Context, _ *river.Job[purgeArgs]) error {
	if _, err := idempotency.New(w.a.db).Purge(ctx); err != nil {
		return err
	}
	return w.a.accounts.Prune(ctx)
}

func registerWorkers(ws *river.Workers, a *app) {
	river.AddWorker(ws, &purgeWorker{a: a})
	river.AddWorker(ws, &contact.ImportWorker{Store: a.contacts, Uploads: a.uploads, TempDir: a.tempDir()})
	crmsync.AddWorkers(ws, a.sftp, sftpImporter{a})
	crmsync.AddExportWorkers(ws, a.exports)
	crmsync.AddWebhookWorkers(ws, a.webhooks)
	dispatch.AddWorkers(ws, a.dispatch)
}

// sftpImporter hands the files of an SFTP drop to the import engine.
type sftpImporter struct{ a *app }

func (i sftpImporter) ImportFile(ctx context.Context, tenantID, source, fileName string, r io.Reader) (crmsync.ImportResult, error) {
	id := strings.TrimPrefix(source, "sftp:")
	rep, csv, err := i.a.contacts.ImportFile(ctx, audit.System("sftp"), tenantID, contact.SourceRef{Kind: "sftp", ID: id, Name: fileName}, r, i.a.tempDir())
	if err != nil {
		return crmsync.ImportResult{}, err
	}
	return crmsync.ImportResult{ImportID: rep.ImportID, OK: rep.Status == contact.StatusDone, ReportCSV: csv}, nil
}

func periodicJobs() []*river.PeriodicJob {
	return append(dispatch.PeriodicJobs(),
		crmsync.SchedulePeriodicJob(),
		crmsync.ExportPeriodicJob(),
		crmsync.WebhookPeriodicJob(),
		river.NewPeriodicJob(river.PeriodicInterval(time.Hour), func() (river.JobArgs, *river.InsertOpts) {
			return purgeArgs{}, nil
		}, &river.PeriodicJobOpts{RunOnStart: true}),
	)
}
