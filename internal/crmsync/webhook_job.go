package crmsync

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"avis/internal/audit"
	"avis/internal/db"
)

// drainBudget is how long one delivery job works an endpoint before it
// gives its worker back (the job is then available again at once).
const drainBudget = 20 * time.Second

// batchSize is how many waiting deliveries a job reads at a time.
const batchSize = 500

// DeliverArgs asks for the waiting deliveries of one endpoint to be sent,
// in order. It carries ids only. It is not a River unique job: the
// endpoint's row says whether one is queued (job_queued, wake_seq), which
// costs no lock on River's table inside the transaction of a change.
type DeliverArgs struct {
	TenantID   string `json:"tenant_id"`
	EndpointID string `json:"endpoint_id"`
}

// Kind implements river.JobArgs.
func (DeliverArgs) Kind() string { return "crmsync.webhook_deliver" }

// DeliverWorker runs DeliverArgs jobs.
type DeliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	W *Webhooks
}

// Timeout implements river.Worker: the drain budget and one last delivery.
func (dw *DeliverWorker) Timeout(*river.Job[DeliverArgs]) time.Duration {
	return drainBudget + 3*dw.W.o.Timeout
}

// Work implements river.Worker.
func (dw *DeliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	return dw.W.drain(ctx, job.Args.TenantID, job.Args.EndpointID)
}

// SweepArgs runs the periodic upkeep of webhooks: a job for every endpoint
// with deliveries due and no job working it (after a crash, or when
// events were queued without a job queue), and the purge of the delivery
// log older than DeliveryRetention.
type SweepArgs struct{}

// Kind implements river.JobArgs.
func (SweepArgs) Kind() string { return "crmsync.webhook_sweep" }

// SweepWorker runs SweepArgs jobs.
type SweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	W *Webhooks
}

// Work implements river.Worker.
func (sw *SweepWorker) Work(ctx context.Context, _ *river.Job[SweepArgs]) error {
	return sw.W.Sweep(ctx)
}

// AddWebhookWorkers registers DeliverWorker and SweepWorker with ws.
func AddWebhookWorkers(ws *river.Workers, w *Webhooks) {
	river.AddWorker(ws, &DeliverWorker{W: w})
	river.AddWorker(ws, &SweepWorker{W: w})
}

// WebhookPeriodicJob returns the periodic job that enqueues SweepArgs every
// minute, for jobs.Options.Periodic.
func WebhookPeriodicJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(time.Minute), func() (river.JobArgs, *river.InsertOpts) {
		return SweepArgs{}, nil
	}, &river.PeriodicJobOpts{ID: "crmsync.webhook_sweep", RunOnStart: true})
}

// Sweep enqueues a job for each endpoint with deliveries due and no job
// working it, and purges the delivery log older than DeliveryRetention.
func (w *Webhooks) Sweep(ctx context.Context) error {
	now := db.Stamp(w.o.Now())
	rows, err := w.db.R.QueryContext(ctx, `/* crmsync.Webhooks.Sweep */ SELECT DISTINCT e.tenant_id, e.id FROM webhook_endpoints e
		JOIN webhook_deliveries d ON d.tenant_id = e.tenant_id AND d.endpoint_id = e.id
		WHERE e.enabled AND e.lease_until < $1 AND d.status IN ('pending', 'retrying') AND d.next_attempt_at <= $1`, now)
	if err != nil {
		return fmt.Errorf("webhook sweep: %w", db.Translate(err))
	}
	type ref struct{ tenant, id string }
	var due []ref
	for rows.Next() {
		var r ref
		if err := rows.Scan(&r.tenant, &r.id); err != nil {
			rows.Close()
			return fmt.Errorf("webhook sweep: %w", err)
		}
		due = append(due, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("webhook sweep: %w", err)
	}
	for _, r := range due {
		if err := w.db.Tx(ctx, func(tx *sql.Tx) error { return w.enqueue(ctx, tx, r.tenant, r.id, true) }); err != nil {
			return fmt.Errorf("webhook sweep: %w", err)
		}
	}
	cutoff := db.Stamp(w.o.Now().Add(-DeliveryRetention))
	if _, err := w.db.W.ExecContext(ctx, `/* crmsync.Webhooks.Sweep */ DELETE FROM webhook_deliveries WHERE created_at < $1`, cutoff); err != nil {
		return fmt.Errorf("webhook purge: %w", db.Translate(err))
	}
	return nil
}

// claim takes the endpoint's lease (one job at a time works an endpoint);
// false when another job holds it.
func (w *Webhooks) claim(ctx context.Context, tenantID, id string, d time.Duration) (bool, error) {
	now := w.o.Now()
	res, err := w.db.W.ExecContext(ctx, `/* crmsync.Webhooks.claim */ UPDATE webhook_endpoints SET lease_until = $3
		WHERE tenant_id = $1 AND id = $2 AND lease_until < $4`, tenantID, id, db.Stamp(now.Add(d)), db.Stamp(now))
	if err != nil {
		return false, fmt.Errorf("webhook lease: %w", db.Translate(err))
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func (w *Webhooks) release(ctx context.Context, tenantID, id string) {
	_, err := w.db.W.ExecContext(context.WithoutCancel(ctx), `/* crmsync.Webhooks.release */ UPDATE webhook_endpoints SET lease_until = 0
		WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	if err != nil {
		w.o.Log.Warn("webhooks: release an endpoint's lease", "endpoint", id, "err", err)
	}
}

const deliveryCols = `id, endpoint_id, ord, event_id, event_type, object_id, contact_id, external_id, occurred_at, status,
	attempts, http_status, duration_ms, error, first_failed_at, next_attempt_at, created_at, updated_at`

func scanDelivery(sc interface{ Scan(...any) error }) (Delivery, error) {
	var d Delivery
	var occurred, firstFailed, next, created, updated, durMS int64
	err := sc.Scan(&d.ID, &d.EndpointID, &d.Event.Seq, &d.Event.ID, &d.Event.Type, &d.Event.ObjectID, &d.Event.ContactID,
		&d.Event.ExternalID, &occurred, &d.Status, &d.Attempts, &d.HTTPStatus, &durMS, &d.Error, &firstFailed, &next, &created, &updated)
	if err != nil {
		return Delivery{}, db.Translate(err)
	}
	d.Event.At, d.FirstFailedAt, d.NextAttemptAt = db.Time(occurred), db.Time(firstFailed), db.Time(next)
	d.CreatedAt, d.UpdatedAt = db.Time(created), db.Time(updated)
	d.Duration = time.Duration(durMS) * time.Millisecond
	return d, nil
}

// waiting returns the endpoint's next waiting deliveries, in feed order.
func (w *Webhooks) waiting(ctx context.Context, tenantID, id string) ([]Delivery, error) {
	rows, err := w.db.R.QueryContext(ctx, `/* crmsync.Webhooks.waiting */ SELECT `+deliveryCols+` FROM webhook_deliveries
		WHERE tenant_id = $1 AND endpoint_id = $2 AND status IN ('pending', 'retrying') ORDER BY ord, id LIMIT $3`, tenantID, id, batchSize)
	if err != nil {
		return nil, fmt.Errorf("waiting deliveries: %w", db.Translate(err))
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("waiting deliveries: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// drain sends the endpoint's waiting deliveries one at a time, in order,
// until none is left, one fails (the job comes back at its next attempt),
// or the drain budget is spent.
func (w *Webhooks) drain(ctx context.Context, tenantID, id string) error {
	lease := drainBudget + 3*w.o.Timeout
	ok, err := w.claim(ctx, tenantID, id, lease)
	if err != nil {
		return err
	}
	if !ok {
		// Another job works the endpoint, and checks for wake-ups before
		// it ends.
		return nil
	}
	defer w.release(ctx, tenantID, id)
	start := time.Now()
	seen, err := w.wakeSeq(ctx, tenantID, id)
	if err != nil {
		return err
	}
	for {
		ep, err := w.Get(ctx, tenantID, id)
		if errors.Is(err, db.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if !ep.Enabled {
			return w.idle(ctx, tenantID, id, -1)
		}
		batch, err := w.waiting(ctx, tenantID, id)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			// Done, unless events were queued since the last look.
			if err := w.idle(ctx, tenantID, id, seen); !errors.Is(err, errWoken) {
				return err
			}
			if seen, err = w.wakeSeq(ctx, tenantID, id); err != nil {
				return err
			}
			continue
		}
		secrets, err := w.secrets(ctx, tenantID, id)
		if err != nil {
			return err
		}
		var done []sent
		flush := func() error {
			err := w.recordSent(ctx, tenantID, done)
			done = done[:0]
			return err
		}
		// The payloads are built ahead, a few at once, while the
		// deliveries go out one at a time in order: building one (reading
		// the response and its answers) then overlaps sending another.
		bctx, stop := context.WithCancel(ctx)
		bodies := w.prefetch(bctx, ep, batch)
		for i, d := range batch {
			now := w.o.Now()
			if !d.NextAttemptAt.IsZero() && d.NextAttemptAt.After(now) {
				stop()
				if err := flush(); err != nil {
					return err
				}
				return river.JobSnooze(d.NextAttemptAt.Sub(now))
			}
			b := <-bodies[i]
			body, err := b.body, b.err
			if errors.Is(err, ErrObjectGone) {
				done = append(done, sent{d: d, status: StatusSkipped, problem: probObjectGone})
				continue
			}
			if err != nil {
				stop()
				if ferr := flush(); ferr != nil {
					return ferr
				}
				return err
			}
			o := w.post(ctx, ep, d.Event.ID, body, secrets)
			if o.ok() {
				done = append(done, sent{d: d, status: StatusDelivered, o: o})
				if time.Since(start) > drainBudget {
					// A slow receiver: record what was sent and give the
					// worker back; the job is available again at once.
					stop()
					if err := flush(); err != nil {
						return err
					}
					return river.JobSnooze(0)
				}
				continue
			}
			stop()
			if err := flush(); err != nil {
				return err
			}
			return w.failed(ctx, ep, d, o)
		}
		stop()
		if err := flush(); err != nil {
			return err
		}
		if time.Since(start) > drainBudget {
			return river.JobSnooze(0)
		}
		if _, err := w.db.W.ExecContext(ctx, `/* crmsync.Webhooks.drain */ UPDATE webhook_endpoints SET lease_until = $3
			WHERE tenant_id = $1 AND id = $2`, tenantID, id, db.Stamp(w.o.Now().Add(lease))); err != nil {
			return fmt.Errorf("webhook lease: %w", db.Translate(err))
		}
	}
}

// errWoken says events were queued since the job's last look.
var errWoken = errors.New("woken")

// wakeSeq reads the endpoint's count of wake-ups.
func (w *Webhooks) wakeSeq(ctx context.Context, tenantID, id string) (int64, error) {
	var n int64
	err := w.db.W.QueryRowContext(ctx, `/* crmsync.Webhooks.wakeSeq */ SELECT wake_seq FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2`,
		tenantID, id).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("webhook wake-ups: %w", db.Translate(err))
	}
	return n, nil
}

// idle records that no job is queued for the endpoint any more, unless it
// was woken since seen (errWoken then); seen < 0 records it in any case.
func (w *Webhooks) idle(ctx context.Context, tenantID, id string, seen int64) error {
	res, err := w.db.W.ExecContext(ctx, `/* crmsync.Webhooks.idle */ UPDATE webhook_endpoints SET job_queued = FALSE
		WHERE tenant_id = $1 AND id = $2 AND ($3 < 0 OR wake_seq = $3)`, tenantID, id, seen)
	if err != nil {
		return fmt.Errorf("webhook idle: %w", db.Translate(err))
	}
	if n, _ := res.RowsAffected(); n == 0 && seen >= 0 {
		return errWoken
	}
	return nil
}

// sent is a delivery done (delivered or skipped), to record.
type sent struct {
	d       Delivery
	status  string
	o       outcome
	problem string
}

// recordSent records deliveries done, in one transaction; a healthy
// endpoint's failure clock is reset.
func (w *Webhooks) recordSent(ctx context.Context, tenantID string, done []sent) error {
	if len(done) == 0 {
		return nil
	}
	now := db.Stamp(w.o.Now())
	return w.db.Tx(ctx, func(tx *sql.Tx) error {
		// One statement for many deliveries: a batch is hundreds of them.
		const per = 100
		for start := 0; start < len(done); start += per {
			var sb strings.Builder
			args := []any{tenantID, now}
			for i, s := range done[start:min(start+per, len(done))] {
				attempts := s.d.Attempts
				if s.status == StatusDelivered {
					attempts++
				}
				if i > 0 {
					sb.WriteByte(',')
				}
				n := len(args)
				fmt.Fprintf(&sb, "($%d, $%d, CAST($%d AS BIGINT), CAST($%d AS BIGINT), CAST($%d AS BIGINT), $%d)", n+1, n+2, n+3, n+4, n+5, n+6)
				args = append(args, s.d.ID, s.status, attempts, s.o.status, s.o.duration.Milliseconds(), s.problem)
			}
			if _, err := tx.ExecContext(ctx, `/* crmsync.Webhooks.recordSent */ UPDATE webhook_deliveries SET status = v.column2,
				attempts = v.column3, http_status = v.column4, duration_ms = v.column5, error = v.column6, next_attempt_at = 0, updated_at = $2
				FROM (VALUES `+sb.String()+`) AS v WHERE webhook_deliveries.tenant_id = $1 AND webhook_deliveries.id = v.column1`, args...); err != nil {
				return fmt.Errorf("record deliveries: %w", db.Translate(err))
			}
		}
		_, err := tx.ExecContext(ctx, `/* crmsync.Webhooks.recordSent */ UPDATE webhook_endpoints SET failing_since = 0
			WHERE tenant_id = $1 AND id = $2 AND failing_since <> 0`, tenantID, done[0].d.EndpointID)
		return err
	})
}

// failed records a failed attempt and decides what comes next: a retry
// after the backoff (the endpoint's later deliveries wait behind it), or,
// after 410 Gone or GiveUpAfter of failures, the endpoint disabled and its
// administrators told.
func (w *Webhooks) failed(ctx context.Context, ep Endpoint, d Delivery, o outcome) error {
	now := w.o.Now()
	first := d.FirstFailedAt
	if first.IsZero() {
		first = now
	}
	attempts := d.Attempts + 1
	failures := attempts
	wait := w.backoff(failures)
	next := now.Add(wait)
	disable, reason := "", ""
	switch {
	case o.gone:
		disable, reason = DisabledGone, o.problem
	case now.Sub(first) >= w.o.GiveUpAfter:
		disable = DisabledFailing
		reason = fmt.Sprintf(probGaveUp, roundDuration(now.Sub(first)), o.problem)
	}
	if disable != "" {
		next = time.Time{}
	}
	err := w.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `/* crmsync.Webhooks.failed */ UPDATE webhook_deliveries SET status = 'retrying', attempts = $3,
			http_status = $4, duration_ms = $5, error = $6, first_failed_at = $7, next_attempt_at = $8, updated_at = $9
			WHERE tenant_id = $1 AND id = $2`, ep.TenantID, d.ID, attempts, o.status, o.duration.Milliseconds(), o.problem,
			db.Stamp(first), db.Stamp(next), db.Stamp(now)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `/* crmsync.Webhooks.failed */ UPDATE webhook_endpoints SET failing_since = $3
			WHERE tenant_id = $1 AND id = $2 AND failing_since = 0`, ep.TenantID, ep.ID, db.Stamp(first)); err != nil {
			return err
		}
		if disable == "" {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `/* crmsync.Webhooks.failed */ UPDATE webhook_endpoints SET enabled = FALSE, disabled_kind = $3,
			disabled_reason = $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2`, ep.TenantID, ep.ID, disable, reason, db.Stamp(now)); err != nil {
			return err
		}
		return w.audit.Record(ctx, tx, audit.Entry{TenantID: ep.TenantID, Actor: audit.System("webhooks"), Action: "webhook.disable",
			ObjectKind: "webhook", ObjectID: ep.ID, Detail: map[string]string{"why": disable, "http_status": fmt.Sprint(o.status)}})
	})
	if err != nil {
		return fmt.Errorf("record failed delivery: %w", db.Translate(err))
	}
	w.o.Log.Info("webhooks: delivery failed", "tenant", ep.TenantID, "endpoint", ep.ID, "event", d.Event.ID,
		"attempt", attempts, "http_status", o.status, "problem", o.problem, "next_attempt_in", wait.String())
	if disable == "" {
		return river.JobSnooze(wait)
	}
	if err := w.idle(ctx, ep.TenantID, ep.ID, -1); err != nil {
		return err
	}
	w.forget(ep.TenantID)
	w.o.Log.Warn("webhooks: endpoint disabled", "tenant", ep.TenantID, "endpoint", ep.ID, "why", disable)
	if w.o.Notify != nil {
		ep.Enabled, ep.DisabledKind, ep.DisabledReason = false, disable, reason
		if err := w.o.Notify.EndpointDisabled(ctx, ep); err != nil {
			w.o.Log.Warn("webhooks: tell the tenant's administrators", "tenant", ep.TenantID, "endpoint", ep.ID, "err", err)
		}
	}
	return nil
}

// roundDuration writes a duration to the second, or in hours past a day.
func roundDuration(d time.Duration) string {
	if d >= 24*time.Hour {
		return fmt.Sprintf("%.0f hours", d.Hours())
	}
	return d.Round(time.Second).String()
}

// built is a delivery's payload, or why it could not be built.
type built struct {
	body []byte
	err  error
}

// prefetchWorkers is how many payloads are built at once ahead of the
// sending.
const prefetchWorkers = 4

// prefetch builds the payloads of batch with a few goroutines, roughly in
// order, and returns one channel per delivery that receives its payload.
// Cancelling ctx stops the building (the channels are buffered: nothing
// waits on a reader that left).
func (w *Webhooks) prefetch(ctx context.Context, ep Endpoint, batch []Delivery) []chan built {
	out := make([]chan built, len(batch))
	for i := range out {
		out[i] = make(chan built, 1)
	}
	next := make(chan int, len(batch))
	for i := range batch {
		next <- i
	}
	close(next)
	for range min(prefetchWorkers, len(batch)) {
		go func() {
			for i := range next {
				if err := ctx.Err(); err != nil {
					out[i] <- built{err: err}
					continue
				}
				body, err := w.body(ctx, ep, batch[i].Event)
				out[i] <- built{body: body, err: err}
			}
		}()
	}
	return out
}
