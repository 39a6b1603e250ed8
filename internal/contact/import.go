package contact

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"avis/internal/audit"
	"avis/internal/db"
)

// SourceRef says where contacts come from, for the lawful-basis ledger, the
// import record and the audit log.
type SourceRef struct {
	Kind string // "ui", "cli", "api", "sftp"
	ID   string // the API key, SFTP source or user behind it
	Name string // the file name, when there is one
}

// Default basis and purpose recorded in the ledger.
const (
	DefaultBasis   = "legitimate interest (Art. 6(1)(f))"
	DefaultPurpose = "customer satisfaction"
)

// ImportOptions tune one import.
type ImportOptions struct {
	Source SourceRef
	// Format is recorded with the import ("csv", "xlsx", "jsonl", "json").
	Format string
	// Mapping gives a field for each column of the source's header; nil
	// takes SuggestMapping's proposal.
	Mapping []Field
	// Region is the default region of phone numbers without a country code;
	// "" takes the tenant's.
	Region string
	// AllOrNothing lands nothing when any row is rejected.
	AllOrNothing bool
	// DryRun checks and counts everything, then lands nothing.
	DryRun bool
	// Basis and Purpose go to the ledger; defaults above.
	Basis, Purpose string
	// ChunkSize is the number of rows written per transaction (default 10000).
	ChunkSize int
	// Progress, when set, is called after each chunk.
	Progress func(Progress)
	// RowIDs asks for the contact id of each landed row in Report.RowIDs
	// (for small API batches).
	RowIDs bool
	// ImportID, when set, is the id to record the import under.
	ImportID string
}

// Progress counts what an import has done so far.
type Progress struct {
	Rows, Created, Updated, Unchanged, Rejected int
}

// Reject is one refused cell or row: the row number as a spreadsheet shows
// it, the column's name, and the reason in plain words. It never holds the
// value.
type Reject struct {
	Row    int
	Column string
	// Reason is in English (the CLI, the API, the report's default).
	Reason string
	// ReasonText is Reason as a Text, to say it in another language.
	ReasonText Text
}

// newReject makes a Reject whose Reason is t in English.
func newReject(row int, col string, t Text) Reject {
	return Reject{Row: row, Column: col, Reason: t.String(), ReasonText: t}
}

// Import statuses.
const (
	StatusRunning = "running"
	StatusDone    = "done"
	StatusFailed  = "failed"
	StatusDryRun  = "dry-run"
)

// maxReportRejects bounds the rejects a Report carries in memory; all are
// stored with the import.
const maxReportRejects = 1000

// Report is the outcome of an import.
type Report struct {
	ImportID string
	Status   string
	Progress
	Rejects []Reject
	// MoreRejects counts rejects beyond those in Rejects.
	MoreRejects int
	Elapsed     time.Duration
	// Error says why the import failed, in plain words (English).
	Error string
	// ErrorText is Error as a Text, to say it in another language.
	ErrorText Text
	// RowIDs gives the contact id of each landed row, by row number, when
	// ImportOptions.RowIDs asked for it.
	RowIDs map[int]string
}

// RowsPerSecond is the import's speed.
func (r Report) RowsPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Rows) / r.Elapsed.Seconds()
}

// ErrMapping says the column mapping cannot be used.
var ErrMapping = errors.New("column mapping")

// fields of a contact an import can carry, as bits.
const (
	carryExt = 1 << iota
	carryEmail
	carryPhone
	carryFirst
	carryLast
	carryLang
	carryCountry
	carryTZ
)

// candidate is one normalised row, ready to be matched and written.
type candidate struct {
	row                            int
	carried                        int
	ext, email, phone, first, last string
	lang, country, tz              string
	attrs, pattrs                  map[string]string
	emailIdx, phoneIdx             []byte
}

type column struct {
	field Field
	name  string
	attr  string // attribute name for attr: fields
}

// Import reads contacts from src and lands them: a row matching a contact
// by external id, else email, else phone updates what it carries and leaves
// the rest; other rows create contacts. Every personal field is sealed under
// the contact's own key. Each contact imported gets a lawful-basis ledger
// entry. Bad rows are rejected with a reason and good rows land (unless
// AllOrNothing). Rows are written in chunks, each in one transaction, so an
// interrupted import can simply be run again: nothing is duplicated.
func (s *Store) Import(ctx context.Context, actor audit.Actor, tenantID string, src Source, o ImportOptions) (Report, error) {
	start := time.Now()
	if o.ChunkSize <= 0 {
		o.ChunkSize = 10000
	}
	if o.Basis == "" {
		o.Basis = DefaultBasis
	}
	if o.Purpose == "" {
		o.Purpose = DefaultPurpose
	}
	header := src.Header()
	attrs, err := s.Attributes(ctx, tenantID)
	if err != nil {
		return Report{}, err
	}
	labels := map[string]string{}
	for n, a := range attrs {
		labels[n] = a.Label
	}
	if o.Mapping == nil {
		o.Mapping = SuggestMapping(header, labels)
	}
	cols, newAttrs, err := planColumns(header, o.Mapping, attrs)
	if err != nil {
		return Report{}, err
	}
	if o.Region == "" {
		if err := s.db.R.QueryRowContext(ctx, `/* contact.Store.Import */ SELECT default_region FROM tenants WHERE id = $1`, tenantID).Scan(&o.Region); err != nil {
			return Report{}, fmt.Errorf("import: tenant: %w", db.Translate(err))
		}
	}
	// Make sure the tenant key exists before any transaction holds the
	// writer: blind indexes are computed outside the transactions.
	if _, err := s.vault.BlindIndex(ctx, nil, tenantID, FieldEmail, ""); err != nil {
		return Report{}, fmt.Errorf("import: %w", err)
	}
	mappingJSON, _ := json.Marshal(mappingRecord(header, o.Mapping))
	rep := Report{ImportID: o.ImportID, Status: StatusRunning}
	if rep.ImportID == "" {
		rep.ImportID = db.NewID()
	}
	if o.RowIDs {
		rep.RowIDs = map[int]string{}
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		for _, a := range newAttrs {
			if err := s.declare(ctx, tx, actor, tenantID, a); err != nil {
				return err
			}
			attrs[a.Name] = a
		}
		if _, err := tx.ExecContext(ctx, `/* contact.Store.Import */ INSERT INTO imports (tenant_id, id, source_kind, source_id,
			file_name, format, mapping, status, actor_kind, actor_id, started_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			ON CONFLICT (tenant_id, id) DO UPDATE SET format = excluded.format, mapping = excluded.mapping, status = excluded.status,
			started_at = excluded.started_at`,
			tenantID, rep.ImportID, o.Source.Kind, o.Source.ID, truncate(o.Source.Name, 200), o.Format, string(mappingJSON),
			StatusRunning, actor.Kind, actor.ID, db.Now()); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: actor, Action: "import.start", ObjectKind: "import",
			ObjectID: rep.ImportID, Detail: map[string]string{"source": o.Source.Kind, "format": o.Format}})
	})
	if err != nil {
		return Report{}, fmt.Errorf("import: %w", err)
	}

	im := &importer{s: s, tenantID: tenantID, cols: cols, o: o, rep: &rep, actor: actor, personal: map[string]bool{}}
	for n, a := range attrs {
		im.personal[n] = a.Personal
	}
	var all *db.BulkTx // one transaction for all-or-nothing and dry runs
	if o.AllOrNothing || o.DryRun {
		if all, err = s.db.BeginBulk(ctx); err != nil {
			return Report{}, fmt.Errorf("import: %w", err)
		}
		defer all.Rollback()
	}
	runErr := im.run(ctx, src, all)
	if runErr != nil && all != nil {
		// Before the report is written: on SQLite the transaction holds
		// the one writer connection.
		all.Rollback()
	}
	if runErr == nil && all != nil {
		switch {
		case o.DryRun:
			runErr = all.Rollback()
			rep.Status = StatusDryRun
		case rep.Rejected > 0:
			runErr = all.Rollback()
			rep.Status = StatusFailed
			rep.setError(textf("%d rows were refused and all-or-nothing was asked: nothing was imported", rep.Rejected))
		default:
			runErr = all.Commit()
		}
	}
	if runErr != nil {
		rep.Status = StatusFailed
		var pe *readError
		if errors.As(runErr, &pe) {
			rep.setError(pe.msg)
		} else {
			rep.setError(textf("the import stopped: %s", errorText(runErr)))
		}
	} else if rep.Status == StatusRunning {
		rep.Status = StatusDone
	}
	rep.Elapsed = time.Since(start)
	if err := s.finishImport(ctx, actor, tenantID, &rep, all != nil && rep.Status != StatusDone); err != nil {
		return rep, err
	}
	if runErr != nil {
		var pe *readError
		if errors.As(runErr, &pe) {
			return rep, nil // the file's fault: the report says it
		}
		return rep, fmt.Errorf("import: %w", runErr)
	}
	return rep, nil
}

// setError sets the report's Error and ErrorText.
func (r *Report) setError(t Text) {
	r.ErrorText, r.Error = t, t.String()
}

// readError is a problem with the file itself, reported to the user.
type readError struct{ msg Text }

func (e *readError) Error() string { return e.msg.String() }
func (e *readError) text() Text    { return e.msg }

func errorText(err error) Text {
	switch {
	case errors.Is(err, context.Canceled):
		return textf("it was cancelled")
	case errors.Is(err, context.DeadlineExceeded):
		return textf("it took too long")
	}
	return textf("a database error (see the server log)")
}

// mappingError is an ErrMapping error in plain words.
type mappingError struct {
	msg  Text
	also error // another sentinel it matches, or nil
}

func mappingErr(t Text) error { return &mappingError{msg: t} }

func (e *mappingError) Error() string { return ErrMapping.Error() + ": " + e.msg.String() }
func (e *mappingError) text() Text    { return textf("column mapping: %s", e.msg) }
func (e *mappingError) Unwrap() []error {
	if e.also != nil {
		return []error{ErrMapping, e.also}
	}
	return []error{ErrMapping}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func mappingRecord(header []string, m []Field) map[string]string {
	out := map[string]string{}
	for i, h := range header {
		if i < len(m) && m[i] != FieldIgnore {
			out[h] = string(m[i])
		}
	}
	return out
}

// planColumns checks a mapping against the header: each field at most once,
// attributes declared (an undeclared one is declared personal: the safe
// side).
func planColumns(header []string, m []Field, attrs map[string]Attribute) ([]column, []Attribute, error) {
	if len(m) > len(header) {
		return nil, nil, mappingErr(textf("%d fields for %d columns", len(m), len(header)))
	}
	cols := make([]column, len(header))
	seen := map[Field]string{}
	var newAttrs []Attribute
	any := false
	for i, h := range header {
		cols[i].name = h
		if i >= len(m) || m[i] == FieldIgnore {
			continue
		}
		f := m[i]
		if prev, dup := seen[f]; dup {
			return nil, nil, mappingErr(textf("columns %q and %q both map to %s: keep one", prev, h, string(f)))
		}
		seen[f] = h
		cols[i].field = f
		any = true
		if name, ok := strings.CutPrefix(string(f), "attr:"); ok {
			if !attrName.MatchString(name) {
				return nil, nil, &mappingError{msg: textf("column %q: %s", h,
					textf("an attribute name is 1 to 40 lower-case letters, digits or underscores, starting with a letter")), also: ErrInvalidAttribute}
			}
			cols[i].attr = name
			if _, ok := attrs[name]; !ok {
				newAttrs = append(newAttrs, Attribute{Name: name, Label: h, Personal: true})
			}
			continue
		}
		switch f {
		case FieldExternalID, FieldEmailCol, FieldPhoneCol, FieldFirstNameCol, FieldLastNameCol, FieldLanguage, FieldCountry, FieldTimeZone:
		default:
			return nil, nil, mappingErr(textf("column %q maps to unknown field %q", h, string(f)))
		}
	}
	if !any {
		return nil, nil, mappingErr(textf("no column is mapped to a contact field"))
	}
	_, ext := seen[FieldExternalID]
	_, email := seen[FieldEmailCol]
	_, phone := seen[FieldPhoneCol]
	if !ext && !email && !phone {
		return nil, nil, mappingErr(textf("map at least one of external id, email or phone, so that contacts can be told apart"))
	}
	return cols, newAttrs, nil
}

type importer struct {
	s        *Store
	tenantID string
	cols     []column
	o        ImportOptions
	rep      *Report
	actor    audit.Actor
	rejects  []Reject // of the chunk being written
	personal map[string]bool
	analysed int // contacts created when the tables were last analysed
}

func (im *importer) reject(r Reject) {
	im.rejects = append(im.rejects, r)
	if len(im.rep.Rejects) < maxReportRejects {
		im.rep.Rejects = append(im.rep.Rejects, r)
	} else {
		im.rep.MoreRejects++
	}
}

// run reads the source chunk by chunk: a reader goroutine normalises rows
// while this one writes the previous chunk.
func (im *importer) run(ctx context.Context, src Source, all *db.BulkTx) error {
	type chunk struct {
		cands   []*candidate
		rejects []Reject
		rows    int
		err     error
	}
	ctx, cancel := context.WithCancel(ctx)
	chunks := make(chan chunk, 1)
	// On any return, stop the reader and wait for it: the caller closes
	// the source after Import returns.
	defer func() {
		cancel()
		for range chunks {
		}
	}()
	go func() {
		defer close(chunks)
		var c chunk
		for {
			row, err := src.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				c.err = &readError{msg: textf("the file cannot be read further: %s", TextOf(err))}
				break
			}
			c.rows++
			cand, rej := im.normalise(ctx, row)
			c.rejects = append(c.rejects, rej...)
			if cand != nil {
				c.cands = append(c.cands, cand)
			}
			if c.rows >= im.o.ChunkSize {
				select {
				case chunks <- c:
				case <-ctx.Done():
					return
				}
				c = chunk{}
			}
		}
		select {
		case chunks <- c:
		case <-ctx.Done():
		}
	}()
	for c := range chunks {
		im.rejects = im.rejects[:0]
		for _, r := range c.rejects {
			im.reject(r)
		}
		rejectedRows := map[int]bool{}
		for _, r := range c.rejects {
			rejectedRows[r.Row] = true
		}
		var p Progress
		write := func(tx *db.BulkTx) error {
			var err error
			p, err = im.writeChunk(ctx, tx, c.cands)
			if err != nil {
				return err
			}
			return im.writeRejects(ctx, tx)
		}
		var err error
		if all != nil {
			err = write(all)
		} else {
			err = im.s.db.BulkTx(ctx, write)
		}
		if err != nil {
			return err
		}
		im.rep.Rows += c.rows
		im.rep.Created += p.Created
		im.rep.Updated += p.Updated
		im.rep.Unchanged += p.Unchanged
		im.rep.Rejected += len(rejectedRows)
		if all == nil {
			if err := im.s.saveCounts(ctx, im.s.db.W, im.tenantID, im.rep); err != nil {
				return err
			}
			im.analyse(ctx)
		}
		if im.o.Progress != nil {
			im.o.Progress(im.rep.Progress)
		}
		if c.err != nil {
			return c.err
		}
	}
	return ctx.Err()
}

// analyseEvery is how many contacts an import creates before it first
// has PostgreSQL analyse the tables it fills.
var analyseEvery = 10000

// analyse has PostgreSQL gather the statistics of the tables the import
// fills each time the contacts it created have doubled (from
// analyseEvery on). Without it, a large import into a new database is
// planned on the statistics of the tables empty: its lookups by CRM id,
// email and phone become scans of a table growing by the chunk, kept so in
// the prepared statements until autovacuum's next pass (an import of
// 200,000 contacts fell from 14,000 to 600 rows/s). It is best effort: a
// database user that does not own the tables cannot analyse them, and the
// import goes on.
func (im *importer) analyse(ctx context.Context) {
	n := im.rep.Created
	if im.s.db.Dialect != db.Postgres || n-im.analysed < max(analyseEvery, im.analysed) {
		return
	}
	im.analysed = n
	im.s.db.W.ExecContext(ctx, `/* contact.Store.Import */ ANALYZE contacts, contact_bases, subject_keys`)
}

// normalise turns a row into a candidate, or rejects it with one reason per
// bad cell.
func (im *importer) normalise(ctx context.Context, row Row) (*candidate, []Reject) {
	if row.Problem != "" {
		t := row.ProblemText
		if t.IsZero() { // a Source of another package
			t = Text{Format: row.Problem}
		}
		return nil, []Reject{newReject(row.Num, "", t)}
	}
	c := &candidate{row: row.Num}
	var rej []Reject
	bad := func(col string, err error) { rej = append(rej, newReject(row.Num, col, TextOf(err))) }
	for i, col := range im.cols {
		if col.field == FieldIgnore || i >= len(row.Fields) {
			continue
		}
		v := strings.TrimSpace(row.Fields[i])
		if v == "" {
			continue // an empty cell carries nothing: the stored value stays
		}
		var err error
		switch {
		case col.attr != "":
			if v, err = CleanText(v, 500); err != nil {
				bad(col.name, err)
				continue
			}
			if im.isPersonal(col.attr) {
				if c.pattrs == nil {
					c.pattrs = map[string]string{}
				}
				c.pattrs[col.attr] = v
			} else {
				if c.attrs == nil {
					c.attrs = map[string]string{}
				}
				c.attrs[col.attr] = v
			}
		case col.field == FieldExternalID:
			if c.ext, err = CleanText(v, 200); err == nil {
				c.carried |= carryExt
			}
		case col.field == FieldEmailCol:
			if c.email, err = NormaliseEmail(v); err == nil {
				c.carried |= carryEmail
			} else {
				err = &normError{ErrInvalidEmail, textf("not a valid email address")}
			}
		case col.field == FieldPhoneCol:
			if c.phone, err = NormalisePhone(v, im.o.Region); err == nil {
				c.carried |= carryPhone
			}
		case col.field == FieldFirstNameCol:
			if c.first, err = CleanText(v, 200); err == nil {
				c.carried |= carryFirst
			}
		case col.field == FieldLastNameCol:
			if c.last, err = CleanText(v, 200); err == nil {
				c.carried |= carryLast
			}
		case col.field == FieldLanguage:
			if c.lang, err = NormaliseLanguage(v); err == nil {
				c.carried |= carryLang
			}
		case col.field == FieldCountry:
			if c.country, err = NormaliseCountry(v); err == nil {
				c.carried |= carryCountry
			}
		case col.field == FieldTimeZone:
			if c.tz, err = ValidTimeZone(v); err == nil {
				c.carried |= carryTZ
			}
		}
		if err != nil {
			bad(col.name, err)
		}
	}
	if len(rej) > 0 {
		return nil, rej
	}
	if c.carried&(carryExt|carryEmail|carryPhone) == 0 {
		return nil, []Reject{newReject(row.Num, "", textf("the row has no external id, email or phone: it cannot be matched to a person"))}
	}
	var err error
	if c.email != "" {
		if c.emailIdx, err = im.s.vault.BlindIndex(ctx, nil, im.tenantID, FieldEmail, c.email); err != nil {
			return nil, []Reject{newReject(row.Num, "", textf("internal error"))}
		}
	}
	if c.phone != "" {
		if c.phoneIdx, err = im.s.vault.BlindIndex(ctx, nil, im.tenantID, FieldPhone, c.phone); err != nil {
			return nil, []Reject{newReject(row.Num, "", textf("internal error"))}
		}
	}
	return c, nil
}

func (im *importer) isPersonal(attr string) bool { return im.personal[attr] }
