package contact

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"

	"avis/internal/db"
)

// ImportRecord is a past or running import as the database keeps it.
type ImportRecord struct {
	ID         string
	SourceKind string
	SourceID   string
	FileName   string
	Format     string
	Status     string
	Progress
	Error      string
	StartedAt  time.Time
	FinishedAt time.Time
}

const importCols = `id, source_kind, source_id, file_name, format, status, total_rows, created_rows, updated_rows,
	unchanged_rows, rejected_rows, error, started_at, finished_at`

func scanImport(sc interface{ Scan(...any) error }) (ImportRecord, error) {
	var r ImportRecord
	var started, finished int64
	err := sc.Scan(&r.ID, &r.SourceKind, &r.SourceID, &r.FileName, &r.Format, &r.Status, &r.Rows, &r.Created, &r.Updated,
		&r.Unchanged, &r.Rejected, &r.Error, &started, &finished)
	r.StartedAt, r.FinishedAt = db.Time(started), db.Time(finished)
	return r, err
}

// Imports lists the tenant's latest imports, newest first.
func (s *Store) Imports(ctx context.Context, tenantID string, limit int) ([]ImportRecord, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	rows, err := s.db.R.QueryContext(ctx, `/* contact.Store.Imports */ SELECT `+importCols+` FROM imports
		WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2`, tenantID, limit)
	if err != nil {
		return nil, fmt.Errorf("list imports: %w", err)
	}
	defer rows.Close()
	var out []ImportRecord
	for rows.Next() {
		r, err := scanImport(rows)
		if err != nil {
			return nil, fmt.Errorf("list imports: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ImportByID returns one import of the tenant; another tenant's is
// db.ErrNotFound.
func (s *Store) ImportByID(ctx context.Context, tenantID, id string) (ImportRecord, error) {
	r, err := scanImport(s.db.R.QueryRowContext(ctx, `/* contact.Store.ImportByID */ SELECT `+importCols+` FROM imports
		WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if err != nil {
		return ImportRecord{}, fmt.Errorf("import: %w", db.Translate(err))
	}
	return r, nil
}

// ImportRejects returns up to limit rejects of an import, in row order,
// after the given row.
func (s *Store) ImportRejects(ctx context.Context, tenantID, id string, afterRow, limit int) ([]Reject, error) {
	rows, err := s.db.R.QueryContext(ctx, `/* contact.Store.ImportRejects */ SELECT row_num, column_name, reason FROM import_rejects
		WHERE tenant_id = $1 AND import_id = $2 AND row_num > $3 ORDER BY row_num, column_name LIMIT $4`, tenantID, id, afterRow, limit)
	if err != nil {
		return nil, fmt.Errorf("import report: %w", err)
	}
	defer rows.Close()
	var out []Reject
	for rows.Next() {
		var r Reject
		if err := rows.Scan(&r.Row, &r.Column, &r.Reason); err != nil {
			return nil, fmt.Errorf("import report: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// WriteReportCSV writes an import's report as CSV: its counts, then one line
// per rejected cell or row (row, column, reason). Cells are neutralised for
// spreadsheets. It holds no personal data.
func (s *Store) WriteReportCSV(ctx context.Context, tenantID, id string, w io.Writer) error {
	rec, err := s.ImportByID(ctx, tenantID, id)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	put := func(fields ...string) {
		for i := range fields {
			fields[i] = NeutraliseCell(fields[i])
		}
		cw.Write(fields)
	}
	put("import", rec.ID)
	put("file", rec.FileName)
	put("status", rec.Status)
	for _, kv := range []struct {
		k string
		v int
	}{{"rows", rec.Rows}, {"created", rec.Created}, {"updated", rec.Updated}, {"unchanged", rec.Unchanged}, {"rejected", rec.Rejected}} {
		put(kv.k, strconv.Itoa(kv.v))
	}
	if rec.Error != "" {
		put("error", rec.Error)
	}
	put("")
	put("row", "column", "reason")
	after := 0
	for {
		rs, err := s.ImportRejects(ctx, tenantID, id, after, 1000)
		if err != nil {
			return err
		}
		for _, r := range rs {
			put(strconv.Itoa(r.Row), r.Column, r.Reason)
		}
		if len(rs) < 1000 {
			break
		}
		after = rs[len(rs)-1].Row
	}
	cw.Flush()
	return cw.Error()
}
