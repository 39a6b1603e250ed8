package dispatch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"avis/internal/db"
)

// RunArgs is the job that sends a tenant's due invitations. The invitations
// table is the queue: a run claims due rows in batches and sends them with
// several workers, so a run of 100,000 costs 100,000 rows, not 100,000 jobs.
// Every batch of events due now enqueues one; a run that finds another
// run of its tenant active in its process hands it the work and ends.
type RunArgs struct {
	TenantID string `json:"tenant_id"`
}

// Kind implements river.JobArgs.
func (RunArgs) Kind() string { return "dispatch.run" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (RunArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 25}
}

// RunWorker works RunArgs.
type RunWorker struct {
	river.WorkerDefaults[RunArgs]
	Store *Store
}

// Timeout implements river.Worker: a run lasts as long as there is
// something due; shutting down cancels it between messages.
func (w *RunWorker) Timeout(*river.Job[RunArgs]) time.Duration { return -1 }

// Work implements river.Worker.
func (w *RunWorker) Work(ctx context.Context, job *river.Job[RunArgs]) error {
	_, err := w.Store.RunDue(ctx, job.Args.TenantID)
	return err
}

// TickArgs is the periodic job that starts a run for every tenant with
// invitations due (those scheduled for later, and any a run missed).
type TickArgs struct{}

// Kind implements river.JobArgs.
func (TickArgs) Kind() string { return "dispatch.tick" }

// TickWorker works TickArgs.
type TickWorker struct {
	river.WorkerDefaults[TickArgs]
	Store *Store
}

// Work implements river.Worker.
func (w *TickWorker) Work(ctx context.Context, _ *river.Job[TickArgs]) error {
	return w.Store.Tick(ctx)
}

// Tick enqueues a run for each tenant that has invitations due now.
func (s *Store) Tick(ctx context.Context) error {
	now := db.Stamp(s.now())
	rows, err := s.db.R.QueryContext(ctx, `/* dispatch.Store.Tick */ SELECT t.id FROM tenants t WHERE EXISTS (SELECT 1 FROM invitations i
		WHERE i.tenant_id = t.id AND i.status = 'scheduled' AND i.due_at <= $1 AND i.claimed_until < $1)`, now)
	if err != nil {
		return fmt.Errorf("dispatch tick: %w", err)
	}
	var tenants []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("dispatch tick: %w", err)
		}
		tenants = append(tenants, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("dispatch tick: %w", err)
	}
	for _, id := range tenants {
		if err := s.Queue.Insert(ctx, RunArgs{TenantID: id}, nil); err != nil {
			return err
		}
	}
	return nil
}

// Run tuning.
const (
	// runWorkers is how many invitations a run renders and sends at once.
	runWorkers = 32
	// claimBatch is how many due invitations a run claims at a time.
	claimBatch = 256
	// claimLease is how long a claim keeps other runs away. A run killed
	// mid-batch delays its claimed invitations by at most this.
	claimLease = 30 * time.Second
)

// RunDue sends the tenant's due invitations until none is left (or ctx
// ends), and returns how many it handled.
func (s *Store) RunDue(ctx context.Context, tenantID string) (int, error) {
	s.runs.mu.Lock()
	if f, ok := s.runs.active[tenantID]; ok {
		f.again = true // the active run looks again before it ends
		s.runs.mu.Unlock()
		return 0, nil
	}
	f := &runFlag{}
	s.runs.active[tenantID] = f
	s.runs.mu.Unlock()
	defer func() {
		s.runs.mu.Lock()
		if s.runs.active[tenantID] == f {
			delete(s.runs.active, tenantID)
		}
		s.runs.mu.Unlock()
	}()
	handled := 0
	for ctx.Err() == nil {
		ids, err := s.claim(ctx, tenantID)
		if err != nil {
			return handled, err
		}
		if len(ids) == 0 {
			s.runs.mu.Lock()
			again := f.again
			f.again = false
			if !again {
				delete(s.runs.active, tenantID)
			}
			s.runs.mu.Unlock()
			if again {
				continue
			}
			return handled, nil
		}
		cids := make([]string, len(ids))
		for i, c := range ids {
			cids[i] = c.id
		}
		pre, err := s.prefetch(ctx, tenantID, cids)
		if err != nil {
			return handled, err
		}
		work := make(chan claimed)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var firstErr error
		for range min(runWorkers, len(ids)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for c := range work {
					if err := s.runOne(ctx, tenantID, c, pre); err != nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = err
						}
						mu.Unlock()
					}
				}
			}()
		}
		for _, c := range ids {
			if ctx.Err() != nil {
				break
			}
			work <- c
		}
		close(work)
		wg.Wait()
		handled += len(ids)
		if firstErr != nil {
			// A database error: the claims lapse and the next run retries.
			return handled, firstErr
		}
	}
	// Shutting down: give the rest back at once.
	_, err := s.db.W.ExecContext(context.WithoutCancel(ctx), `/* dispatch.Store.RunDue */ UPDATE invitations SET claimed_until = 0
		WHERE tenant_id = $1 AND status = 'scheduled' AND claimed_until > $2`, tenantID, db.Stamp(s.now()))
	if err != nil {
		return handled, fmt.Errorf("release claims: %w", db.Translate(err))
	}
	return handled, ctx.Err()
}

// claim takes a lease on the next due invitations of the tenant.
// claimed is an invitation a run holds, with its attempts so far.
type claimed struct {
	id       string
	attempts int
}

// claim takes the next due invitations for a lease. They are ordered by
// due time only: a tie-break on id made SQLite sort every invitation due
// at the same instant (a whole run's) for each batch.
func (s *Store) claim(ctx context.Context, tenantID string) ([]claimed, error) {
	now := s.now()
	rows, err := s.db.R.QueryContext(ctx, `/* dispatch.Store.claim */ SELECT id FROM invitations
		WHERE tenant_id = $1 AND status = 'scheduled' AND due_at <= $2 AND claimed_until < $2 ORDER BY due_at LIMIT $3`,
		tenantID, db.Stamp(now), claimBatch)
	if err != nil {
		return nil, fmt.Errorf("claim invitations: %w", err)
	}
	var ids []any
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("claim invitations: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return nil, err
	}
	in, args := db.InList(s.db.Dialect, []any{tenantID, db.Stamp(now.Add(claimLease)), db.Stamp(now)}, ids)
	// $1…$3 are numbered: SQLite numbers the plain ? of the list after them.
	// "status || ''" keeps SQLite off the status index: with it, SQLite
	// walked every scheduled invitation of the tenant to find the batch
	// (18% of the CPU of a 100,000 run) instead of 256 primary-key lookups.
	rows, err = s.db.W.QueryContext(ctx, `/* dispatch.Store.claim */ UPDATE invitations SET claimed_until = $2
		WHERE tenant_id = $1 AND status || '' = 'scheduled' AND claimed_until < $3 AND id IN `+in+` RETURNING id, attempts`, args...)
	if err != nil {
		return nil, fmt.Errorf("claim invitations: %w", db.Translate(err))
	}
	defer rows.Close()
	var out []claimed
	for rows.Next() {
		var c claimed
		if err := rows.Scan(&c.id, &c.attempts); err != nil {
			return nil, fmt.Errorf("claim invitations: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// runOne sends one claimed invitation. A snooze (send window) or a
// temporary failure puts it back with a later due time and its claim
// released; an error that is not about the invitation is returned.
func (s *Store) runOne(ctx context.Context, tenantID string, c claimed, pre *prefetched) error {
	id, attempts := c.id, c.attempts
	err := s.send(ctx, SendArgs{TenantID: tenantID, InvitationID: id}, attempts+1 >= MaxAttempts, pre)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return nil // shutting down: RunDue gives the claims back
	}
	var later time.Duration
	var snooze *snoozeError
	inc := 1
	switch {
	case errors.As(err, &snooze):
		later, inc = snooze.d, 0
	case errors.Is(err, errTemporary):
		later = time.Minute << min(attempts, 10)
		later = min(later, 12*time.Hour)
	default:
		return err
	}
	_, uerr := s.db.W.ExecContext(ctx, `/* dispatch.Store.runOne */ UPDATE invitations SET due_at = $3, claimed_until = 0,
		attempts = attempts + $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2 AND status = 'scheduled'`,
		tenantID, id, db.Stamp(s.now().Add(later)), inc, db.Now())
	if uerr != nil {
		return fmt.Errorf("run: reschedule: %w", db.Translate(uerr))
	}
	return nil
}

// errTemporary marks a delivery failure worth retrying later.
var errTemporary = errors.New("temporary delivery failure")

// runs are the sending runs active in this process, by tenant.
type runs struct {
	mu     sync.Mutex
	active map[string]*runFlag
}

type runFlag struct{ again bool }
