package jobs_test

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"avis/internal/db"
	"avis/internal/db/dbtest"
	"avis/internal/jobs"
)

// waitLimit bounds every wait, only so that a broken test fails instead of
// hanging; nothing asserts on speed.
const waitLimit = 20 * time.Second

// pingArgs is a job that records its id when worked.
type pingArgs struct {
	ID string `json:"id"`
}

func (pingArgs) Kind() string { return "test_ping" }

type pingWorker struct {
	river.WorkerDefaults[pingArgs]
	calls chan string
}

func (w *pingWorker) Work(ctx context.Context, job *river.Job[pingArgs]) error {
	w.calls <- job.Args.ID
	return nil
}

// flakyArgs is a job whose worker fails until its attempt number reaches
// SucceedOn.
type flakyArgs struct {
	SucceedOn int `json:"succeed_on"`
}

func (flakyArgs) Kind() string { return "test_flaky" }

type flakyWorker struct {
	river.WorkerDefaults[flakyArgs]
	runs atomic.Int32
	done chan struct{}
}

func (w *flakyWorker) Work(ctx context.Context, job *river.Job[flakyArgs]) error {
	w.runs.Add(1)
	if job.Attempt < job.Args.SucceedOn {
		return errors.New("not yet")
	}
	close(w.done)
	return nil
}

// NextRetry retries at once, so that the test does not wait for backoff.
func (w *flakyWorker) NextRetry(*river.Job[flakyArgs]) time.Time { return time.Now() }

// slowArgs is a job that runs until its context ends or release is closed.
type slowArgs struct{}

func (slowArgs) Kind() string { return "test_slow" }

type slowWorker struct {
	river.WorkerDefaults[slowArgs]
	started   chan struct{}
	release   <-chan struct{}
	cancelled atomic.Bool
	finished  atomic.Bool
}

func (w *slowWorker) Work(ctx context.Context, job *river.Job[slowArgs]) error {
	select {
	case w.started <- struct{}{}:
	default:
	}
	select {
	case <-ctx.Done():
		w.cancelled.Store(true)
		return ctx.Err()
	case <-w.release:
		w.finished.Store(true)
		return nil
	}
}

func newQueue(t testing.TB, d *db.DB, workers *river.Workers, o jobs.Options) *jobs.Queue {
	t.Helper()
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	q, err := jobs.New(d, log, workers, o)
	if err != nil {
		t.Fatalf("jobs.New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		if err := q.Stop(ctx); err != nil {
			t.Errorf("cleanup: Stop: %v", err)
		}
	})
	return q
}

func start(t testing.TB, q *jobs.Queue) {
	t.Helper()
	if err := q.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
}

func stop(t testing.TB, q *jobs.Queue) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := q.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

// receive waits for a value on ch.
func receive[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		t.Fatalf("gave up waiting for %s", what)
		panic("unreachable")
	}
}

type jobRow struct {
	State    string
	Attempt  int
	NumError int
}

// jobsOf returns the rows of river_job of a kind, oldest first.
func jobsOf(t testing.TB, d *db.DB, kind string) []jobRow {
	t.Helper()
	count := "json_array_length(errors)"
	if d.Dialect == db.Postgres {
		count = "cardinality(errors)" // errors is jsonb[] there
	}
	rows, err := d.R.QueryContext(context.Background(),
		`SELECT CAST(state AS TEXT), attempt, COALESCE(`+count+`, 0) FROM river_job WHERE kind = $1 ORDER BY id`, kind)
	if err != nil {
		t.Fatalf("read river_job: %v", err)
	}
	defer rows.Close()
	var out []jobRow
	for rows.Next() {
		var r jobRow
		if err := rows.Scan(&r.State, &r.Attempt, &r.NumError); err != nil {
			t.Fatalf("read river_job: %v", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read river_job: %v", err)
	}
	return out
}

// waitState waits until the only job of kind is in state.
func waitState(t testing.TB, d *db.DB, kind, state string) jobRow {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		rs := jobsOf(t, d, kind)
		if len(rs) == 1 && rs[0].State == state {
			return rs[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s never reached state %s: %+v", kind, state, rs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTransactionalEnqueue(t *testing.T) {
	d := dbtest.Open(t)
	ctx := t.Context()
	w := &pingWorker{calls: make(chan string, 10)}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	q := newQueue(t, d, workers, jobs.Options{Work: true})
	start(t, q)

	// Rolled back: the job must vanish with the transaction.
	tx, err := d.W.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.InsertTx(ctx, tx, pingArgs{ID: "rolled-back"}, nil); err != nil {
		t.Fatalf("InsertTx: %v", err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}

	// Committed together with a row: the job is worked once.
	tenant := db.NewID()
	err = d.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO tenants (id, slug, name, created_at) VALUES ($1, $2, $3, $4)`,
			tenant, "acme", "Acme", db.Now()); err != nil {
			return err
		}
		return q.InsertTx(ctx, tx, pingArgs{ID: tenant}, nil)
	})
	if err != nil {
		t.Fatalf("commit: %v", err)
	}
	if got := receive(t, w.calls, "the committed job"); got != tenant {
		t.Fatalf("worked job %q, want the committed one %q", got, tenant)
	}
	waitState(t, d, "test_ping", "completed")
	stop(t, q)
	select {
	case got := <-w.calls:
		t.Fatalf("a second run, of %q: want exactly one", got)
	default:
	}
	if rs := jobsOf(t, d, "test_ping"); len(rs) != 1 {
		t.Fatalf("river_job holds %d test_ping jobs, want 1 (the rolled back one must not exist)", len(rs))
	}
}

func TestRetries(t *testing.T) {
	d := dbtest.Open(t)
	w := &flakyWorker{done: make(chan struct{})}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	q := newQueue(t, d, workers, jobs.Options{Work: true})
	start(t, q)

	if err := q.Insert(t.Context(), flakyArgs{SucceedOn: 3}, nil); err != nil {
		t.Fatalf("Insert: %v", err)
	}
	receive(t, w.done, "the third, successful run")
	r := waitState(t, d, "test_flaky", "completed")
	stop(t, q)
	if n := w.runs.Load(); n != 3 {
		t.Fatalf("worker ran %d times, want 3", n)
	}
	if r.Attempt != 3 || r.NumError != 2 {
		t.Fatalf("job attempt=%d errors=%d, want 3 and 2", r.Attempt, r.NumError)
	}
}

func TestGracefulShutdownCancelsLongJob(t *testing.T) {
	d := dbtest.Open(t)
	never := make(chan struct{}) // a long job: released only by its context
	w1 := &slowWorker{started: make(chan struct{}, 1), release: never}
	workers := river.NewWorkers()
	river.AddWorker(workers, w1)
	q1 := newQueue(t, d, workers, jobs.Options{Work: true, ShutdownTimeout: 100 * time.Millisecond})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(q1.Collector())
	start(t, q1)

	if err := q1.Insert(t.Context(), slowArgs{}, nil); err != nil {
		t.Fatalf("Insert: %v", err)
	}
	receive(t, w1.started, "the long job to start")
	stop(t, q1)
	stop(t, q1) // twice is fine
	if !w1.cancelled.Load() {
		t.Fatal("Stop returned but the long job's context was not cancelled")
	}
	r := waitState(t, d, "test_slow", "available")
	if r.Attempt != 0 {
		t.Errorf("interrupted job has attempt %d, want 0 (an interruption is not a failed attempt)", r.Attempt)
	}
	if got := value(t, reg, "avis_job_runs_total", map[string]string{"kind": "test_slow", "outcome": "cancelled"}); got != 1 {
		t.Errorf("avis_job_runs_total{outcome=cancelled} = %v, want 1", got)
	}

	// The next process picks it up and completes it.
	released := make(chan struct{})
	close(released)
	w2 := &slowWorker{started: make(chan struct{}, 1), release: released}
	workers2 := river.NewWorkers()
	river.AddWorker(workers2, w2)
	q2 := newQueue(t, d, workers2, jobs.Options{Work: true})
	start(t, q2)
	receive(t, w2.started, "the interrupted job to run again")
	r = waitState(t, d, "test_slow", "completed")
	stop(t, q2)
	if !w2.finished.Load() || w2.cancelled.Load() {
		t.Fatalf("second run finished=%v cancelled=%v, want finished", w2.finished.Load(), w2.cancelled.Load())
	}
	if r.Attempt != 1 {
		t.Errorf("completed job has attempt %d, want 1", r.Attempt)
	}
}

func TestGracefulShutdownLetsShortJobFinish(t *testing.T) {
	d := dbtest.Open(t)
	release := make(chan struct{})
	w := &slowWorker{started: make(chan struct{}, 1), release: release}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	q := newQueue(t, d, workers, jobs.Options{Work: true, ShutdownTimeout: waitLimit})
	start(t, q)

	if err := q.Insert(t.Context(), slowArgs{}, nil); err != nil {
		t.Fatalf("Insert: %v", err)
	}
	receive(t, w.started, "the short job to start")
	// The job is still running when Stop is called; it ends a little later.
	go func() {
		time.Sleep(200 * time.Millisecond)
		close(release)
	}()
	stop(t, q)
	if !w.finished.Load() || w.cancelled.Load() {
		t.Fatalf("when Stop returned the job had finished=%v cancelled=%v, want finished", w.finished.Load(), w.cancelled.Load())
	}
	if rs := jobsOf(t, d, "test_slow"); len(rs) != 1 || rs[0].State != "completed" {
		t.Fatalf("after Stop the job is %+v, want completed", rs)
	}
}

// contactArgs is what a careless caller might write: personal data in args.
type contactArgs struct {
	ContactID string `json:"contact_id"`
	Email     string `json:"email,omitempty"`
	Phone     string `json:"phone,omitempty"`
	Number    int64  `json:"number,omitempty"`
}

func (contactArgs) Kind() string { return "test_contact" }

// mapArgs carries a map, whose keys are values too.
type mapArgs struct {
	Counts map[string]int `json:"counts"`
}

func (mapArgs) Kind() string { return "test_map" }

// timeArgs carries what ids-only args may also hold.
type timeArgs struct {
	TenantID string    `json:"tenant_id"`
	Since    time.Time `json:"since"`
	Day      string    `json:"day"`
	Key      string    `json:"key"`
	Limit    int       `json:"limit"`
}

func (timeArgs) Kind() string { return "test_time" }

func TestCheckArgs(t *testing.T) {
	refused := map[string]river.JobArgs{
		"email":             contactArgs{ContactID: db.NewID(), Email: "jane.doe@example.com"},
		"bare email":        contactArgs{ContactID: "jane@example"},
		"phone":             contactArgs{ContactID: db.NewID(), Phone: "+33612345678"},
		"national phone":    contactArgs{ContactID: db.NewID(), Phone: "0612345678"},
		"spaced phone":      contactArgs{ContactID: db.NewID(), Phone: "+1 (555) 123-4567"},
		"dotted phone":      contactArgs{ContactID: db.NewID(), Phone: "06.12.34.56.78"},
		"phone as number":   contactArgs{ContactID: db.NewID(), Number: 33612345678},
		"phone in map key":  mapArgs{Counts: map[string]int{"+33612345678": 1}},
		"email in map key":  mapArgs{Counts: map[string]int{"a@b.c": 1}},
		"digits in free id": contactArgs{ContactID: "c-1234567"},
	}
	for name, args := range refused {
		err := jobs.CheckArgs(args)
		if !errors.Is(err, jobs.ErrPersonalData) {
			t.Errorf("%s: CheckArgs = %v, want ErrPersonalData", name, err)
			continue
		}
		for _, secret := range []string{"jane", "example", "12345", "123-4567", "a@b"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: the error quotes the value: %v", name, err)
			}
		}
	}

	allowed := []river.JobArgs{
		contactArgs{ContactID: db.NewID()},
		contactArgs{ContactID: uuid.NewString(), Number: 123456},
		timeArgs{TenantID: db.NewID(), Since: time.Now(), Day: "2024-01-15", Key: "weekly-2024-03", Limit: 500},
		mapArgs{Counts: map[string]int{"reminder": 3}},
	}
	for _, args := range allowed {
		if err := jobs.CheckArgs(args); err != nil {
			t.Errorf("CheckArgs(%+v) = %v, want nil", args, err)
		}
	}
	// Identifiers are base32 and often hold long runs of digits: none may
	// be refused.
	for range 20000 {
		if err := jobs.CheckArgs(contactArgs{ContactID: db.NewID()}); err != nil {
			t.Fatalf("an avis id was refused: %v", err)
		}
	}
}

func TestInsertRefusesPersonalData(t *testing.T) {
	d := dbtest.Open(t)
	ctx := t.Context()
	q := newQueue(t, d, nil, jobs.Options{})

	if err := q.Insert(ctx, contactArgs{ContactID: db.NewID(), Email: "jane@example.com"}, nil); !errors.Is(err, jobs.ErrPersonalData) {
		t.Errorf("Insert with an email = %v, want ErrPersonalData", err)
	}
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		return q.InsertTx(ctx, tx, contactArgs{ContactID: db.NewID(), Phone: "+33 6 12 34 56 78"}, nil)
	})
	if !errors.Is(err, jobs.ErrPersonalData) {
		t.Errorf("InsertTx with a phone number = %v, want ErrPersonalData", err)
	}
	// Going around Queue to River's client is refused too.
	if _, err := q.Client.Insert(ctx, contactArgs{ContactID: db.NewID(), Email: "jane@example.com"}, nil); !errors.Is(err, jobs.ErrPersonalData) {
		t.Errorf("Client.Insert with an email = %v, want ErrPersonalData", err)
	}
	var n int
	if err := d.R.QueryRowContext(ctx, `SELECT count(*) FROM river_job`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("river_job holds %d rows, want 0", n)
	}
}

func TestWebRoleWorksNothing(t *testing.T) {
	d := dbtest.Open(t)
	ctx := t.Context()
	w := &pingWorker{calls: make(chan string, 10)}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	web := newQueue(t, d, workers, jobs.Options{Work: false, PollInterval: 20 * time.Millisecond})
	start(t, web)

	id := db.NewID()
	if err := d.Tx(ctx, func(tx *sql.Tx) error { return web.InsertTx(ctx, tx, pingArgs{ID: id}, nil) }); err != nil {
		t.Fatalf("InsertTx: %v", err)
	}
	// Many poll intervals of a working queue pass; nothing may run.
	time.Sleep(500 * time.Millisecond)
	select {
	case got := <-w.calls:
		t.Fatalf("a web queue worked job %q", got)
	default:
	}
	if rs := jobsOf(t, d, "test_ping"); len(rs) != 1 || rs[0].State != "available" {
		t.Fatalf("job is %+v, want one, available", rs)
	}
	stop(t, web)

	// A worker process then works what the web process enqueued.
	worker := newQueue(t, d, workers, jobs.Options{Work: true})
	start(t, worker)
	if got := receive(t, w.calls, "the worker process to run the job"); got != id {
		t.Fatalf("worked %q, want %q", got, id)
	}
}

func TestCollector(t *testing.T) {
	d := dbtest.Open(t)
	w := &flakyWorker{done: make(chan struct{})}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	q := newQueue(t, d, workers, jobs.Options{Work: true})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(q.Collector())
	start(t, q)

	if err := q.Insert(t.Context(), flakyArgs{SucceedOn: 2}, nil); err != nil {
		t.Fatalf("Insert: %v", err)
	}
	receive(t, w.done, "the job to succeed")
	waitState(t, d, "test_flaky", "completed")
	stop(t, q)

	kind := map[string]string{"kind": "test_flaky"}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"avis_jobs", with(kind, "state", "completed"), 1},
		{"avis_jobs", with(kind, "state", "available"), 0},
		{"avis_jobs", with(kind, "state", "retryable"), 0},
		{"avis_job_runs_total", with(kind, "outcome", "error"), 1},
		{"avis_job_runs_total", with(kind, "outcome", "ok"), 1},
	} {
		if got := value(t, reg, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

func with(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// value gathers reg and returns the value of the metric name with exactly
// labels; it fails the test when there is no such metric.
func value(t testing.TB, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue metrics
				}
			}
			if g := m.GetGauge(); g != nil {
				return g.GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s%v", name, labels)
	return 0
}

// BenchmarkInsertTx measures enqueueing, one job per transaction.
func BenchmarkInsertTx(b *testing.B) {
	d := dbtest.Open(b)
	q := newQueue(b, d, nil, jobs.Options{})
	ctx := b.Context()
	for b.Loop() {
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			return q.InsertTx(ctx, tx, pingArgs{ID: db.NewID()}, nil)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
}

func TestPeriodic(t *testing.T) {
	d := dbtest.Open(t)
	w := &pingWorker{calls: make(chan string, 10)}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	q := newQueue(t, d, workers, jobs.Options{Work: true, Periodic: []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return pingArgs{ID: "periodic"}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}),
	}})
	start(t, q)
	if got := receive(t, w.calls, "the periodic job"); got != "periodic" {
		t.Fatalf("worked %q, want the periodic job", got)
	}
}
