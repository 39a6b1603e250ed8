package contact

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/riverqueue/river"

	"avis/internal/audit"
	"avis/internal/db"
)

// ImportJobArgs asks a worker to import an upload: ids and the mapping only
// (column names and field names), never the file's content.
type ImportJobArgs struct {
	TenantID     string   `json:"tenant_id"`
	ImportID     string   `json:"import_id"`
	UploadID     string   `json:"upload_id"`
	FileName     string   `json:"file_name"`
	Mapping      []string `json:"mapping"`
	Encoding     string   `json:"encoding,omitempty"`
	Delimiter    string   `json:"delimiter,omitempty"`
	Sheet        string   `json:"sheet,omitempty"`
	Region       string   `json:"region,omitempty"`
	AllOrNothing bool     `json:"all_or_nothing,omitempty"`
	ActorKind    string   `json:"actor_kind"`
	ActorID      string   `json:"actor_id"`
}

// Kind names the job.
func (ImportJobArgs) Kind() string { return "contact.import" }

// InsertOpts: an import is tried three times at most (a crash mid-way is
// safe to resume: rows are matched, never duplicated).
func (ImportJobArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 3} }

// Enqueuer is the job queue as the store sees it.
type Enqueuer interface {
	InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) error
}

// StatusQueued is an import waiting for a worker.
const StatusQueued = "queued"

// EnqueueImport records a queued import and its job in one transaction, and
// returns the import's id.
func (s *Store) EnqueueImport(ctx context.Context, q Enqueuer, actor audit.Actor, args ImportJobArgs) (string, error) {
	args.ImportID = db.NewID()
	args.ActorKind, args.ActorID = actor.Kind, actor.ID
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `/* contact.Store.EnqueueImport */ INSERT INTO imports (tenant_id, id, source_kind, source_id,
			file_name, format, mapping, status, actor_kind, actor_id, started_at) VALUES ($1, $2, 'ui', $3, $4, '', '{}', $5, $6, $7, $8)`,
			args.TenantID, args.ImportID, actor.ID, truncate(args.FileName, 200), StatusQueued, actor.Kind, actor.ID, db.Now()); err != nil {
			return db.Translate(err)
		}
		return q.InsertTx(ctx, tx, args, nil)
	})
	if err != nil {
		return "", fmt.Errorf("queue import: %w", err)
	}
	return args.ImportID, nil
}

// ImportWorker imports uploads.
type ImportWorker struct {
	river.WorkerDefaults[ImportJobArgs]
	Store   *Store
	Uploads *Uploads
	TempDir string
}

// Timeout: a large file takes minutes.
func (w *ImportWorker) Timeout(*river.Job[ImportJobArgs]) time.Duration { return time.Hour }

// Work imports the upload, then deletes it (its key is shredded).
func (w *ImportWorker) Work(ctx context.Context, job *river.Job[ImportJobArgs]) error {
	a := job.Args
	r, err := w.Uploads.Open(ctx, a.TenantID, a.UploadID)
	if errors.Is(err, db.ErrNotFound) {
		return w.fail(ctx, a, textf("the uploaded file is gone: upload it again"))
	}
	if err != nil {
		return err
	}
	defer r.Close()
	o := FileOptions{Encoding: a.Encoding, Sheet: a.Sheet, TempDir: w.TempDir}
	if a.Delimiter != "" {
		o.Delimiter = []rune(a.Delimiter)[0]
	}
	src, err := OpenSource(r, a.FileName, o)
	var fe *FileError
	if errors.As(err, &fe) {
		return w.fail(ctx, a, fe.Text())
	}
	if err != nil {
		return err
	}
	defer src.Close()
	mapping := make([]Field, len(a.Mapping))
	for i, f := range a.Mapping {
		mapping[i] = Field(f)
	}
	_, err = w.Store.Import(ctx, audit.Actor{Kind: a.ActorKind, ID: a.ActorID}, a.TenantID, src, ImportOptions{
		ImportID: a.ImportID, Source: SourceRef{Kind: "ui", ID: a.ActorID, Name: a.FileName}, Format: SourceInfoOf(src).Format,
		Mapping: mapping, Region: a.Region, AllOrNothing: a.AllOrNothing})
	if errors.Is(err, ErrMapping) {
		return w.fail(ctx, a, TextOf(err))
	}
	if err != nil {
		return err
	}
	return w.Uploads.Delete(ctx, a.TenantID, a.UploadID)
}

// fail records an import that cannot run, deletes its upload and ends the
// job without retrying.
func (w *ImportWorker) fail(ctx context.Context, a ImportJobArgs, msg Text) error {
	_, err := w.Store.db.W.ExecContext(ctx, `/* contact.ImportWorker.fail */ UPDATE imports SET status = $3, error = $4, error_text = $5,
		finished_at = $6 WHERE tenant_id = $1 AND id = $2`, a.TenantID, a.ImportID, StatusFailed, truncate(msg.String(), 500), storedText(msg), db.Now())
	if err != nil {
		return err
	}
	_ = w.Uploads.Delete(ctx, a.TenantID, a.UploadID)
	return river.JobCancel(errors.New("import failed: see the import record"))
}

// ImportFile imports one file as it comes (the SFTP drop): the saved
// mapping named "sftp" when the tenant has one, otherwise the suggested
// mapping. It returns the report and its CSV. A file that cannot be read is
// a failed import with its reason, not an error.
func (s *Store) ImportFile(ctx context.Context, actor audit.Actor, tenantID string, source SourceRef, r io.Reader, tempDir string) (Report, []byte, error) {
	o := ImportOptions{Source: source}
	fo := FileOptions{TempDir: tempDir}
	saved, err := s.Mapping(ctx, tenantID, "sftp")
	switch {
	case err == nil:
		fo.Encoding, fo.Sheet = saved.Options.Encoding, saved.Options.Sheet
		if saved.Options.Delimiter != "" {
			fo.Delimiter = []rune(saved.Options.Delimiter)[0]
		}
		o.Region = saved.Options.Region
	case !errors.Is(err, db.ErrNotFound):
		return Report{}, nil, err
	}
	src, err := OpenSource(r, source.Name, fo)
	var fe *FileError
	if errors.As(err, &fe) {
		rep, err := s.recordFailed(ctx, actor, tenantID, source, fe.Text())
		if err != nil {
			return Report{}, nil, err
		}
		var buf bytes.Buffer
		if err := s.WriteReportCSV(ctx, tenantID, rep.ImportID, &buf); err != nil {
			return Report{}, nil, err
		}
		return rep, buf.Bytes(), nil
	}
	if err != nil {
		return Report{}, nil, err
	}
	defer src.Close()
	o.Format = SourceInfoOf(src).Format
	if saved.Name != "" {
		o.Mapping = saved.Apply(src.Header())
	}
	rep, err := s.Import(ctx, actor, tenantID, src, o)
	if errors.Is(err, ErrMapping) {
		rep, err = s.recordFailed(ctx, actor, tenantID, source, textf(`%s (save a mapping named "sftp" for these files)`, TextOf(err)))
	}
	if err != nil {
		return Report{}, nil, err
	}
	var buf bytes.Buffer
	if err := s.WriteReportCSV(ctx, tenantID, rep.ImportID, &buf); err != nil {
		return Report{}, nil, err
	}
	return rep, buf.Bytes(), nil
}

// recordFailed records an import that failed before its first row.
func (s *Store) recordFailed(ctx context.Context, actor audit.Actor, tenantID string, src SourceRef, msg Text) (Report, error) {
	rep := Report{ImportID: db.NewID(), Status: StatusFailed}
	rep.setError(msg)
	now := db.Now()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `/* contact.Store.recordFailed */ INSERT INTO imports (tenant_id, id, source_kind, source_id,
			file_name, format, mapping, status, error, error_text, actor_kind, actor_id, started_at, finished_at)
			VALUES ($1, $2, $3, $4, $5, '', '{}', $6, $7, $8, $9, $10, $11, $11)`,
			tenantID, rep.ImportID, src.Kind, src.ID, truncate(src.Name, 200), StatusFailed, truncate(rep.Error, 500), storedText(msg),
			actor.Kind, actor.ID, now); err != nil {
			return db.Translate(err)
		}
		return s.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: actor, Action: "import.finish", ObjectKind: "import",
			ObjectID: rep.ImportID, Detail: map[string]string{"status": StatusFailed}})
	})
	return rep, err
}
