package crmsync

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"avis/internal/db"
	"avis/internal/jobs"
)

// TestJobs runs the schedule and the fetch through the real job queue: the
// schedule enqueues one fetch per due, enabled source, the fetch imports
// its file, and a fetch already waiting is not enqueued twice.
func TestJobs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	srv := startServer(t)
	srv.put(t, "drop/a.csv", "email\na@example.com\n", time.Hour)
	srv.put(t, "off/a.csv", "email\na@example.com\n", time.Hour)
	src := e.create(t, srv.input("drop"))
	off := srv.input("off")
	off.Name, off.Enabled = "disabled", false
	e.create(t, off)

	if err := jobs.CheckArgs(FetchArgs{TenantID: db.NewID(), SourceID: db.NewID()}); err != nil {
		t.Errorf("FetchArgs refused by CheckArgs: %v", err)
	}

	imp := &recImporter{}
	ws := river.NewWorkers()
	AddWorkers(ws, e.s, imp)
	q, err := jobs.New(e.d, slog.New(slog.NewTextHandler(t.Output(), nil)), ws, jobs.Options{Work: true, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		q.Stop(ctx)
	})

	// Before the queue starts: a second identical fetch is not enqueued.
	for range 2 {
		if err := q.Insert(ctx, FetchArgs{TenantID: e.tenant, SourceID: src.ID}, nil); err != nil {
			t.Fatal(err)
		}
	}
	list, err := q.Client.JobList(ctx, river.NewJobListParams().Kinds(FetchArgs{}.Kind()))
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Jobs) != 1 {
		t.Errorf("%d fetch jobs for one source, want 1", len(list.Jobs))
	}
	if _, err := q.Client.JobCancel(ctx, list.Jobs[0].ID); err != nil {
		t.Fatal(err)
	}

	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := q.Insert(ctx, ScheduleArgs{}, nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := e.s.Get(ctx, e.tenant, src.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.LastOKAt.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the scheduled fetch did not end well within 20s: %+v", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if srv.read(t, "drop/done/a.csv") == "<none>" {
		t.Error("the scheduled fetch did not move drop/a.csv to done/")
	}
	// Now nothing is due: another schedule enqueues nothing.
	if due, err := e.s.Due(ctx, time.Now()); err != nil || len(due) != 0 {
		t.Errorf("Due after the run = %v, %v", ids(due), err)
	}
	if srv.read(t, "off/a.csv") == "<none>" {
		t.Error("the disabled source was fetched")
	}
	if n := len(imp.names()); n != 1 {
		t.Errorf("the engine was called %d times, want 1", n)
	}
}
