package crmsync

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"time"

	"avis/internal/audit"
	"avis/internal/db"
)

// Outcomes of an export run.
const (
	// RunRunning is a run that has not ended (or whose process died: the
	// next run of the schedule marks it RunInterrupted).
	RunRunning = "running"
	// RunOK wrote every file and advanced the watermarks.
	RunOK = "ok"
	// RunNothing found nothing new to export: no file was written.
	RunNothing = "nothing"
	// RunFailed stopped on an error; the watermarks of the kinds not
	// written stay where they were, so the next run exports those rows.
	RunFailed = "failed"
	// RunInterrupted was cut short by the end of its process.
	RunInterrupted = "interrupted"
)

// Causes of an export run.
const (
	// CauseSchedule is a run on the schedule (or its retry).
	CauseSchedule = "schedule"
	// CauseManual is an admin's "run now".
	CauseManual = "manual"
)

// Run is one entry of a schedule's export log.
type Run struct {
	ID, ScheduleID string
	// Cause is CauseSchedule or CauseManual.
	Cause string
	// Outcome is one of the Run* outcomes.
	Outcome            string
	StartedAt, EndedAt time.Time
	// Rows and Bytes count what was written to the files that reached
	// their final name.
	Rows, Bytes int64
	// Files are the final names of the files written.
	Files []string
	// Error says in plain words why the run failed.
	Error string
}

// KeepRuns is how long the export log is kept.
const KeepRuns = 90 * 24 * time.Hour

// Run exports now what changed since the last successful export of one
// schedule of tenantID, whether it is enabled or not, and records the run
// in its log. The error, when the run failed, is also in the returned
// Run's Error. db.ErrNotFound when the tenant has no schedule of that id.
func (s *ExportStore) Run(ctx context.Context, tenantID, id, cause string) (Run, error) {
	sc, err := s.Get(ctx, tenantID, id)
	if err != nil {
		return Run{}, err
	}
	return s.run(ctx, sc, cause)
}

// run is Run for a loaded schedule.
func (s *ExportStore) run(ctx context.Context, sc Schedule, cause string) (Run, error) {
	start := s.now()
	r := Run{ID: db.NewID(), ScheduleID: sc.ID, Cause: cause, Outcome: RunRunning, StartedAt: start.UTC().Truncate(time.Microsecond)}
	err := s.d.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `/* crmsync.ExportStore.run */ UPDATE export_runs SET outcome = $3, ended_at = $4, error = $5
			WHERE tenant_id = $1 AND schedule_id = $2 AND outcome = 'running'`, sc.TenantID, sc.ID, RunInterrupted, db.Stamp(start), xferInterrupted); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `/* crmsync.ExportStore.run */ INSERT INTO export_runs
			(tenant_id, id, schedule_id, cause, started_at, outcome) VALUES ($1, $2, $3, $4, $5, $6)`,
			sc.TenantID, r.ID, sc.ID, cause, db.Stamp(start), RunRunning); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `/* crmsync.ExportStore.run */ UPDATE export_schedules SET last_run_at = $3
			WHERE tenant_id = $1 AND id = $2`, sc.TenantID, sc.ID, db.Stamp(start))
		return err
	})
	if err != nil {
		return Run{}, fmt.Errorf("export %s: record the run: %w", sc.ID, db.Translate(err))
	}
	runErr := s.export(ctx, sc, start, &r)
	r.EndedAt = s.now().UTC().Truncate(time.Microsecond)
	switch {
	case runErr != nil:
		r.Outcome, r.Error = RunFailed, lastError(runErr)
	case len(r.Files) == 0:
		r.Outcome = RunNothing
	default:
		r.Outcome = RunOK
	}
	if ferr := s.finish(ctx, sc, r); ferr != nil {
		runErr = errors.Join(runErr, ferr)
	}
	if runErr != nil {
		return r, fmt.Errorf("export %s: %w", sc.ID, runErr)
	}
	return r, nil
}

// finish records the end of a run in the log, on the schedule and in the
// audit log. It writes even when ctx was cancelled.
func (s *ExportStore) finish(ctx context.Context, sc Schedule, r Run) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, err := s.d.W.ExecContext(ctx, `/* crmsync.ExportStore.finish */ UPDATE export_runs SET ended_at = $3, outcome = $4,
		rows_written = $5, bytes_written = $6, files = $7, error = $8 WHERE tenant_id = $1 AND id = $2`,
		sc.TenantID, r.ID, db.Stamp(r.EndedAt), r.Outcome, r.Rows, r.Bytes, strings.Join(r.Files, ","), r.Error)
	if err == nil {
		if r.Outcome == RunFailed {
			_, err = s.d.W.ExecContext(ctx, `/* crmsync.ExportStore.finish */ UPDATE export_schedules SET last_error = $3,
				failures = failures + 1 WHERE tenant_id = $1 AND id = $2`, sc.TenantID, sc.ID, r.Error)
		} else {
			_, err = s.d.W.ExecContext(ctx, `/* crmsync.ExportStore.finish */ UPDATE export_schedules SET last_ok_at = $3,
				last_error = '', failures = 0 WHERE tenant_id = $1 AND id = $2`, sc.TenantID, sc.ID, db.Stamp(r.EndedAt))
		}
	}
	if err != nil {
		return fmt.Errorf("record the end of the export run: %w", db.Translate(err))
	}
	if r.Outcome == RunNothing {
		return nil
	}
	e := audit.Entry{TenantID: sc.TenantID, Actor: audit.System("crmsync"), Action: "export.run",
		ObjectKind: "export_schedule", ObjectID: sc.ID, Detail: map[string]string{
			"run": r.ID, "outcome": r.Outcome, "rows": strconv.FormatInt(r.Rows, 10), "files": strconv.Itoa(len(r.Files)),
			"personal": yesNo(sc.Personal), "protocol": sc.Protocol}}
	if err := s.audit.Record(ctx, nil, e); err != nil {
		return fmt.Errorf("record the export run in the audit log: %w", err)
	}
	return nil
}

// export connects and writes one file per kind that has new rows,
// advancing each kind's watermark once its file has its final name.
func (s *ExportStore) export(ctx context.Context, sc Schedule, start time.Time, r *Run) error {
	loc, err := ParseZone(sc.TimeZone)
	if err != nil {
		return err
	}
	// Where each kind's feed ends now: rows committed later wait for the
	// next run (the feed makes rows visible in order, so none is skipped).
	type job struct {
		kind     exportKind
		from, to int64
		first    []exportRow
	}
	var jobs []job
	for _, name := range sc.Kinds {
		k, ok := exportKinds[name]
		if !ok {
			continue
		}
		from := sc.watermark(name)
		to, err := k.end(ctx, s, sc.TenantID)
		if err != nil {
			return fmt.Errorf("read the %s to export: %w", name, err)
		}
		if to <= from {
			continue
		}
		first, err := k.page(ctx, s, sc, from, "", to, s.chunk)
		if err != nil {
			return err
		}
		if len(first) == 0 {
			// Only events of other kinds: nothing to write, but the
			// watermark moves past them.
			if err := s.advanceMark(ctx, sc, k, to); err != nil {
				return err
			}
			continue
		}
		jobs = append(jobs, job{k, from, to, first})
	}
	if len(jobs) == 0 {
		return nil
	}
	conn, err := s.connect(ctx, sc)
	if err != nil {
		return err
	}
	defer conn.Close()
	at := start.In(loc)
	for _, j := range jobs {
		name, err := uniqueName(conn, FileName(sc.FilePattern, j.kind.name, at))
		if err != nil {
			return err
		}
		rows, bytes, err := s.upload(ctx, conn, sc, j.kind, name, j.first, j.to)
		if err != nil {
			return err
		}
		if err := s.advanceMark(ctx, sc, j.kind, j.to); err != nil {
			return failf(nil, xferNotNoted, name, err)
		}
		r.Rows += rows
		r.Bytes += bytes
		r.Files = append(r.Files, name)
	}
	return nil
}

// advanceMark moves a kind's watermark forward to to.
func (s *ExportStore) advanceMark(ctx context.Context, sc Schedule, k exportKind, to int64) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, err := s.d.W.ExecContext(ctx, `/* crmsync.ExportStore.advanceMark */ UPDATE export_schedules SET `+k.mark+` = $3
		WHERE tenant_id = $1 AND id = $2 AND `+k.mark+` < $3`, sc.TenantID, sc.ID, to)
	if err != nil {
		return fmt.Errorf("advance the watermark: %w", db.Translate(err))
	}
	return nil
}

// uniqueName returns name, or name with -2, -3, … before its extension
// when the folder already holds a file (or an upload) of that name: an
// export never overwrites a file the CRM has not read yet.
func uniqueName(conn exportConn, name string) (string, error) {
	ext := path.Ext(name)
	base := strings.TrimSuffix(name, ext)
	for i := 1; i <= 100; i++ {
		cand := name
		if i > 1 {
			cand = base + "-" + strconv.Itoa(i) + ext
		}
		taken, err := conn.exists(cand)
		if err == nil && !taken {
			taken, err = conn.exists(cand + partSuffix)
		}
		if err != nil {
			return "", err
		}
		if !taken {
			return cand, nil
		}
	}
	return "", failf(nil, xferTooMany, name)
}

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// upload writes one kind's rows, from the first page on up to to, under
// name.part, then renames it to name. On any error the partial file is
// removed (as far as the server lets avis) and never renamed.
func (s *ExportStore) upload(ctx context.Context, conn exportConn, sc Schedule, k exportKind, name string, first []exportRow, to int64) (rows, bytes int64, err error) {
	part := name + partSuffix
	w, err := conn.create(part)
	if err != nil {
		return 0, 0, err
	}
	cw := &countWriter{w: w}
	rw := newRowWriter(sc.Format, cw)
	err = func() error {
		if err := rw.Header(k.columns(sc.Personal)); err != nil {
			return err
		}
		page := first
		for len(page) > 0 {
			for _, row := range page {
				if err := rw.Row(row.cells, row.obj); err != nil {
					return err
				}
			}
			rows += int64(len(page))
			if len(page) < s.chunk {
				break
			}
			if err := ctx.Err(); err != nil {
				return failf(nil, xferStoppedEnd, err)
			}
			var err error
			if page, err = k.page(ctx, s, sc, page[len(page)-1].seq, page[len(page)-1].id, to, s.chunk); err != nil {
				return err
			}
		}
		return rw.Flush()
	}()
	cerr := w.Close()
	if err == nil {
		err = cerr
	}
	if err == nil {
		err = conn.rename(part, name)
	}
	if err != nil {
		if rerr := conn.remove(part); rerr != nil && !errors.Is(rerr, ErrConnectionLost) {
			err = failf(nil, xferPartLeft, err, part, rerr)
		}
		return 0, 0, err
	}
	return rows, cw.n, nil
}

// Runs returns the latest runs of one schedule of tenantID, newest first,
// at most limit.
func (s *ExportStore) Runs(ctx context.Context, tenantID, scheduleID string, limit int) ([]Run, error) {
	rows, err := s.d.R.QueryContext(ctx, `/* crmsync.ExportStore.Runs */ SELECT id, schedule_id, cause, outcome, started_at,
		ended_at, rows_written, bytes_written, files, error FROM export_runs
		WHERE tenant_id = $1 AND schedule_id = $2 ORDER BY started_at DESC, id DESC LIMIT $3`, tenantID, scheduleID, limit)
	if err != nil {
		return nil, fmt.Errorf("export log: %w", err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		var r Run
		var started, ended int64
		var files string
		if err := rows.Scan(&r.ID, &r.ScheduleID, &r.Cause, &r.Outcome, &started, &ended, &r.Rows, &r.Bytes, &files, &r.Error); err != nil {
			return nil, fmt.Errorf("export log: %w", err)
		}
		r.StartedAt, r.EndedAt = db.Time(started), db.Time(ended)
		if files != "" {
			r.Files = strings.Split(files, ",")
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("export log: %w", err)
	}
	return out, nil
}

// PurgeRuns deletes the export log entries older than KeepRuns.
func (s *ExportStore) PurgeRuns(ctx context.Context) error {
	_, err := s.d.W.ExecContext(ctx, `/* crmsync.ExportStore.PurgeRuns */ DELETE FROM export_runs WHERE started_at < $1`,
		db.Stamp(s.now().Add(-KeepRuns)))
	if err != nil {
		return fmt.Errorf("purge the export log: %w", err)
	}
	return nil
}

// Test connects to the destination of one schedule of tenantID and
// writes, renames and removes a small probe file in its folder, as an
// export does. The error says in plain words what failed: the host or port,
// the host key or certificate, the login, the folder, the rights, the
// space.
func (s *ExportStore) Test(ctx context.Context, tenantID, id string) error {
	sc, err := s.Get(ctx, tenantID, id)
	if err != nil {
		return err
	}
	conn, err := s.connect(ctx, sc)
	if err != nil {
		return err
	}
	defer conn.Close()
	name := "avis-connection-test-" + db.NewID()[:8] + ".txt"
	w, err := conn.create(name + partSuffix)
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, "avis connection test: this file should have been removed; you may delete it.\n")
	// A failed write fails the close too, with the same error: say it once.
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = conn.remove(name + partSuffix)
		return err
	}
	if err := conn.rename(name+partSuffix, name); err != nil {
		_ = conn.remove(name + partSuffix)
		return err
	}
	return conn.remove(name)
}
