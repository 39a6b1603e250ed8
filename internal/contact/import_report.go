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
	// Error says why the import failed, in English; ErrorText is the same
	// as a Text, to say it in another language.
	Error      string
	ErrorText  Text
	StartedAt  time.Time
	FinishedAt time.Time
}

const importCols = `id, source_kind, source_id, file_name, format, status, total_rows, created_rows, updated_rows,
	unchanged_rows, rejected_rows, error, error_text, started_at, finished_at`

func scanImport(sc interface{ Scan(...any) error }) (ImportRecord, error) {
	var r ImportRecord
	var started, finished int64
	var errText string
	err := sc.Scan(&r.ID, &r.SourceKind, &r.SourceID, &r.FileName, &r.Format, &r.Status, &r.Rows, &r.Created, &r.Updated,
		&r.Unchanged, &r.Rejected, &r.Error, &errText, &started, &finished)
	r.StartedAt, r.FinishedAt = db.Time(started), db.Time(finished)
	if r.Error != "" {
		r.ErrorText = decodeText(errText, r.Error)
	}
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
	return s.rejectsAfter(ctx, tenantID, id, afterRow, "", limit)
}

// rejectsAfter returns up to limit rejects of an import after the given row
// and column, in row and column order ("" is before every column): a row
// with several rejected cells may straddle two pages.
func (s *Store) rejectsAfter(ctx context.Context, tenantID, id string, afterRow int, afterCol string, limit int) ([]Reject, error) {
	rows, err := s.db.R.QueryContext(ctx, `/* contact.Store.ImportRejects */ SELECT row_num, column_name, reason, reason_text FROM import_rejects
		WHERE tenant_id = $1 AND import_id = $2 AND (row_num > $3 OR (row_num = $3 AND column_name > $4))
		ORDER BY row_num, column_name LIMIT $5`, tenantID, id, afterRow, afterCol, limit)
	if err != nil {
		return nil, fmt.Errorf("import report: %w", err)
	}
	defer rows.Close()
	var out []Reject
	for rows.Next() {
		var r Reject
		var text string
		if err := rows.Scan(&r.Row, &r.Column, &r.Reason, &text); err != nil {
			return nil, fmt.Errorf("import report: %w", err)
		}
		r.ReasonText = decodeText(text, r.Reason)
		out = append(out, r)
	}
	return out, rows.Err()
}

// reportPage is how many rejects the report reads at a time.
const reportPage = 1000

// WriteReportCSV writes an import's report as CSV, in English: its counts,
// then one line per rejected cell or row (row, column, reason). Cells are
// neutralised for spreadsheets. It holds no personal data.
func (s *Store) WriteReportCSV(ctx context.Context, tenantID, id string, w io.Writer) error {
	return s.WriteReportCSVIn(ctx, tenantID, id, w, english)
}

// WriteReportCSVIn is WriteReportCSV with every word said by tr, a
// translator as Text.In takes (i18n.Catalogs.T for one language): the
// labels, the status, the error and the reasons. Numbers, the file name and
// column names are as they are.
func (s *Store) WriteReportCSVIn(ctx context.Context, tenantID, id string, w io.Writer, tr func(format string, args ...any) string) error {
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
	say := func(t Text) string { return t.In(tr) }
	put(say(textf("import")), rec.ID)
	put(say(textf("file")), rec.FileName)
	put(say(textf("status")), say(statusText(rec.Status)))
	for _, kv := range []struct {
		k Text
		v int
	}{{textf("rows"), rec.Rows}, {textf("created"), rec.Created}, {textf("updated"), rec.Updated},
		{textf("unchanged"), rec.Unchanged}, {textf("rejected"), rec.Rejected}} {
		put(say(kv.k), strconv.Itoa(kv.v))
	}
	if rec.Error != "" {
		put(say(textf("error")), say(rec.ErrorText))
	}
	put("")
	put(say(textf("row")), say(textf("column")), say(textf("reason")))
	afterRow, afterCol := 0, ""
	for {
		rs, err := s.rejectsAfter(ctx, tenantID, id, afterRow, afterCol, reportPage)
		if err != nil {
			return err
		}
		for _, r := range rs {
			put(strconv.Itoa(r.Row), r.Column, say(r.ReasonText))
		}
		if len(rs) < reportPage {
			break
		}
		afterRow, afterCol = rs[len(rs)-1].Row, rs[len(rs)-1].Column
	}
	cw.Flush()
	return cw.Error()
}

// statusText is an import status as the report writes it.
func statusText(st string) Text {
	switch st {
	case StatusQueued:
		return textf("queued")
	case StatusRunning:
		return textf("running")
	case StatusDone:
		return textf("done")
	case StatusFailed:
		return textf("failed")
	case StatusDryRun:
		return textf("dry-run")
	}
	return Text{Format: st}
}
