package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"avis/internal/db"
)

// Outcomes of a job run, the values of avis_job_runs_total's outcome label.
const (
	OutcomeOK        = "ok"        // the worker returned nil, or snoozed the job
	OutcomeError     = "error"     // the worker failed or panicked; River retries it
	OutcomeCancelled = "cancelled" // the job was cancelled, or stopped by shutdown
)

// scrapeTimeout bounds the query a scrape runs.
const scrapeTimeout = 5 * time.Second

// Collector returns a prometheus.Collector that, on each scrape, reports
// avis_jobs{kind,state} (the number of jobs in the job table by kind and
// state, from one GROUP BY query; every state is reported for each kind
// present, 0 when empty) and avis_job_runs_total{kind,outcome} (jobs worked
// by this process; outcome is ok, error or cancelled). Labels hold job kinds
// and states only, never args. Register it once with the process's registry.
func (q *Queue) Collector() prometheus.Collector { return q.metrics }

// collector implements prometheus.Collector for a Queue.
type collector struct {
	db   *db.DB
	jobs *prometheus.Desc
	runs *runCounter
}

func newCollector(d *db.DB) *collector {
	return &collector{
		db: d,
		jobs: prometheus.NewDesc("avis_jobs",
			"Jobs in the job table, by kind and state.",
			[]string{"kind", "state"}, nil),
		runs: &runCounter{vec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "avis_job_runs_total",
			Help: "Jobs worked by this process, by kind and outcome (ok, error, cancelled).",
		}, []string{"kind", "outcome"})},
	}
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.jobs
	c.runs.vec.Describe(ch)
}

// Collect implements prometheus.Collector. A failed query is reported as an
// invalid metric, so the scrape shows the error rather than a stale count.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	c.runs.vec.Collect(ch)
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	counts, err := c.count(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.jobs, err)
		return
	}
	for kind, byState := range counts {
		for _, state := range rivertype.JobStates() {
			ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, float64(byState[string(state)]), kind, string(state))
		}
	}
}

// count returns the number of jobs by kind, then state.
func (c *collector) count(ctx context.Context) (map[string]map[string]int64, error) {
	rows, err := c.db.R.QueryContext(ctx, `/* jobs.Queue.Collector */
		SELECT kind, CAST(state AS TEXT), count(*) FROM river_job GROUP BY kind, state`)
	if err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	defer rows.Close()
	out := map[string]map[string]int64{}
	for rows.Next() {
		var kind, state string
		var n int64
		if err := rows.Scan(&kind, &state, &n); err != nil {
			return nil, fmt.Errorf("count jobs: %w", err)
		}
		if out[kind] == nil {
			out[kind] = map[string]int64{}
		}
		out[kind][state] += n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	return out, nil
}

// runCounter is River worker middleware that counts the jobs this process
// works, by kind and outcome.
type runCounter struct {
	river.MiddlewareDefaults
	vec *prometheus.CounterVec
}

// Work implements rivertype.WorkerMiddleware.
func (r *runCounter) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			r.vec.WithLabelValues(job.Kind, OutcomeError).Inc()
			panic(p) // River recovers it and records the attempt as failed
		}
	}()
	err = doInner(ctx)
	r.vec.WithLabelValues(job.Kind, outcome(ctx, err)).Inc()
	return err
}

// outcome classifies what a worker returned. ctx is the job's context as the
// middleware saw it: it ends when the client stops or the job is cancelled
// remotely, but not when the job's own timeout expires (that is an error).
func outcome(ctx context.Context, err error) string {
	var cancelErr *rivertype.JobCancelError
	var snoozeErr *rivertype.JobSnoozeError
	switch {
	case err == nil, errors.As(err, &snoozeErr):
		return OutcomeOK
	case errors.As(err, &cancelErr), ctx.Err() != nil:
		return OutcomeCancelled
	default:
		return OutcomeError
	}
}
