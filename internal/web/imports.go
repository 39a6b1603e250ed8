package web

import (
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"avis/internal/audit"
	"avis/internal/contact"
	"avis/internal/db"
)

// The admin pages of a contact import: upload a file, preview it and map its
// columns, run the import as a job, follow it and download its report.

// uploadFormOverhead is what the upload form may carry besides its file.
const uploadFormOverhead = 1 << 20

// previewRows is how many rows the mapping preview shows.
const previewRows = 5

// importOpts are the reading options of an upload, carried from the upload
// form to the preview and the run in the query string or hidden fields. The
// file name is not personal data; none of these are.
type importOpts struct {
	Name, Encoding, Delimiter, Sheet, Mapping string
}

func (o importOpts) query() string {
	q := url.Values{}
	q.Set("name", o.Name)
	for k, v := range map[string]string{"enc": o.Encoding, "delim": o.Delimiter, "sheet": o.Sheet, "mapping": o.Mapping} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q.Encode()
}

func importOptsFrom(get func(string) string) importOpts {
	clip := func(s string, n int) string {
		s = strings.TrimSpace(s)
		if len(s) > n {
			s = s[:n]
		}
		return s
	}
	o := importOpts{Name: clip(get("name"), 200), Encoding: clip(get("enc"), 20), Delimiter: get("delim"),
		Sheet: clip(get("sheet"), 100), Mapping: clip(get("mapping"), 60)}
	if _, ok := delimiters[o.Delimiter]; !ok {
		o.Delimiter = ""
	}
	if _, ok := encodings[o.Encoding]; !ok {
		o.Encoding = ""
	}
	o.Name = filepath.Base(strings.ReplaceAll(o.Name, `\`, "/"))
	if o.Name == "." || o.Name == "/" {
		o.Name = ""
	}
	return o
}

// encodings and delimiters are the choices of the upload form ("" detects).
var encodings = map[string]bool{"": true, "utf-8": true, "windows-1252": true, "iso-8859-15": true}

var delimiters = map[string]string{"": "", ",": ",", ";": ";", "\t": "tab", "|": "|"}

func (o importOpts) fileOptions(tempDir string) contact.FileOptions {
	fo := contact.FileOptions{Encoding: o.Encoding, Sheet: o.Sheet, TempDir: tempDir}
	if o.Delimiter != "" {
		fo.Delimiter = []rune(o.Delimiter)[0]
	}
	return fo
}

// tempDir is where an XLSX upload is spooled while read: inside the data
// directory, as the import job does.
func (s *Server) tempDir() string {
	if s.Config.Data == "" {
		return ""
	}
	d := filepath.Join(s.Config.Data, "tmp")
	if os.MkdirAll(d, 0o700) != nil {
		return ""
	}
	return d
}

type importsData struct {
	Imports  []contact.ImportRecord
	Mappings []string
	LimitMB  string
	Opts     importOpts
}

func (s *Server) importsPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.renderImports(w, r, rc, http.StatusOK, "")
}

func (s *Server) renderImports(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, errMsg string) {
	ctx := r.Context()
	list, err := s.Contacts.Imports(ctx, rc.tenant.ID, 50)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	maps, err := s.Contacts.Mappings(ctx, rc.tenant.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, rc, status, "imports", &view{Title: rc.t(s, "Imports"), Error: errMsg,
		Data: importsData{Imports: list, Mappings: maps, LimitMB: megabytes(s.Config.MaxUploadBytes)}})
}

// megabytes writes a size limit in MB.
func megabytes(n int64) string {
	if n%(1<<20) == 0 {
		return strconv.FormatInt(n>>20, 10) + " MB"
	}
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MB"
}

// importUpload streams the file part of a multipart form straight into a
// sealed upload: the body is never held in memory nor parsed whole. The
// form's first field must be its CSRF token, checked before the file is
// read.
func (s *Server) importUpload(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	ctx := r.Context()
	limit := s.Config.MaxUploadBytes
	tooLarge := func() {
		s.renderImports(w, r, rc, http.StatusRequestEntityTooLarge, rc.t(s, "The file is larger than the limit of %s. Split it, or ask your administrator to raise the limit.", megabytes(limit)))
	}
	mr, err := r.MultipartReader()
	if err != nil {
		s.fail(w, r, errCSRF)
		return
	}
	part, err := mr.NextPart()
	if err != nil || part.FormName() != "csrf" || !tokenOK(readSmall(part), rc.csrf) {
		s.fail(w, r, errCSRF)
		return
	}
	if r.ContentLength > limit+uploadFormOverhead {
		tooLarge()
		return
	}
	vals := map[string]string{}
	uploadID := ""
	discard := func() {
		if uploadID != "" {
			_ = s.Uploads.Delete(ctx, rc.tenant.ID, uploadID)
		}
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			discard()
			tooLarge()
			return
		}
		if err != nil {
			discard()
			s.renderImports(w, r, rc, http.StatusBadRequest, rc.t(s, "The upload was cut short. Try again."))
			return
		}
		if part.FormName() != "file" {
			vals[part.FormName()] = readSmall(part)
			continue
		}
		if uploadID != "" || part.FileName() == "" {
			continue
		}
		vals["name"] = part.FileName()
		id, size, err := s.Uploads.Save(ctx, rc.tenant.ID, part, limit)
		switch {
		case errors.Is(err, contact.ErrTooLarge) || errors.As(err, &mbe):
			tooLarge()
			return
		case err != nil && ctx.Err() == nil && isReadError(err):
			s.renderImports(w, r, rc, http.StatusBadRequest, rc.t(s, "The upload was cut short. Try again."))
			return
		case err != nil:
			s.fail(w, r, err)
			return
		case size == 0:
			_ = s.Uploads.Delete(ctx, rc.tenant.ID, id)
			s.renderImports(w, r, rc, http.StatusUnprocessableEntity, rc.t(s, "The file is empty: export the contacts again, with a header row and one row per contact."))
			return
		}
		uploadID = id
	}
	if uploadID == "" {
		s.renderImports(w, r, rc, http.StatusUnprocessableEntity, rc.t(s, "Choose a file to upload."))
		return
	}
	o := importOptsFrom(func(k string) string { return vals[k] })
	http.Redirect(w, r, "/uploads/"+uploadID+"?"+o.query(), http.StatusSeeOther)
}

// readSmall reads a short form field of a multipart body (at most 1 KiB).
func readSmall(p *multipart.Part) string {
	b, _ := io.ReadAll(io.LimitReader(p, 1<<10))
	io.Copy(io.Discard, p)
	return string(b)
}

func isReadError(err error) bool {
	return strings.Contains(err.Error(), "read upload")
}

// fieldChoice is one entry of a column's field menu.
type fieldChoice struct {
	Value, Label string
	Attr         bool
}

type previewColumn struct {
	Index    int
	Name     string
	Field    string
	NewName  string
	Personal bool
}

// previewRow is a row of the preview, its problem in the page's language.
type previewRow struct {
	contact.Row
	Problem string
}

type previewData struct {
	ID        string
	Opts      importOpts
	Info      contact.SourceInfo
	Delimiter string
	Columns   []previewColumn
	Rows      []previewRow
	Choices   []fieldChoice
	Region    string
	AllOrNone bool
	SaveAs    string
	FileError string
}

// builtinFields are the contact fields a column can map to, with their
// labels, in menu order.
var builtinFields = []fieldChoice{
	{string(contact.FieldExternalID), "External id (CRM)", false},
	{string(contact.FieldEmailCol), "Email", false},
	{string(contact.FieldPhoneCol), "Phone", false},
	{string(contact.FieldFirstNameCol), "First name", false},
	{string(contact.FieldLastNameCol), "Last name", false},
	{string(contact.FieldLanguage), "Language", false},
	{string(contact.FieldCountry), "Country", false},
	{string(contact.FieldTimeZone), "Time zone", false},
}

// fieldNewAttr is the menu value of "new attribute…".
const fieldNewAttr = "new"

// loadPreview opens an upload and reads its header and first rows. A file
// that cannot be read gives a previewData with FileError set.
func (s *Server) loadPreview(r *http.Request, rc *reqCtx, id string, o importOpts) (previewData, contact.SavedMapping, error) {
	ctx := r.Context()
	d := previewData{ID: id, Opts: o}
	var saved contact.SavedMapping
	if o.Mapping != "" {
		m, err := s.Contacts.Mapping(ctx, rc.tenant.ID, o.Mapping)
		if err != nil && !errors.Is(err, db.ErrNotFound) {
			return d, saved, err
		}
		if err == nil {
			saved = m
			if d.Opts.Encoding == "" && encodings[m.Options.Encoding] {
				d.Opts.Encoding = m.Options.Encoding
			}
			if _, ok := delimiters[m.Options.Delimiter]; ok && d.Opts.Delimiter == "" {
				d.Opts.Delimiter = m.Options.Delimiter
			}
			if d.Opts.Sheet == "" {
				d.Opts.Sheet = m.Options.Sheet
			}
			d.Region = m.Options.Region
		}
	}
	rd, err := s.Uploads.Open(ctx, rc.tenant.ID, id)
	if err != nil {
		return d, saved, err
	}
	defer rd.Close()
	src, err := contact.OpenSource(rd, d.Opts.Name, d.Opts.fileOptions(s.tempDir()))
	var fe *contact.FileError
	if errors.As(err, &fe) {
		d.FileError = rc.say(s, fe.Text())
		return d, saved, nil
	}
	if err != nil {
		return d, saved, err
	}
	defer src.Close()
	d.Info = contact.SourceInfoOf(src)
	d.Delimiter = delimiters[string(d.Info.Delimiter)]
	header := src.Header()
	for range previewRows {
		row, err := src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			d.FileError = s.readErrorText(rc, err, len(d.Rows))
			break
		}
		d.Rows = append(d.Rows, previewRow{Row: row, Problem: rc.say(s, row.ProblemText)})
	}
	attrs, err := s.Contacts.Attributes(ctx, rc.tenant.ID)
	if err != nil {
		return d, saved, err
	}
	labels := make(map[string]string, len(attrs))
	var names []string
	for name, a := range attrs {
		labels[name] = a.Label
		names = append(names, name)
	}
	sort.Strings(names)
	d.Choices = append(d.Choices, builtinFields...)
	for _, name := range names {
		label := attrs[name].Label
		if label != name {
			label += " (" + name + ")"
		}
		d.Choices = append(d.Choices, fieldChoice{string(contact.AttrField(name)), label, true})
	}
	var fields []contact.Field
	if saved.Name != "" {
		fields = saved.Apply(header)
	} else {
		fields = contact.SuggestMapping(header, labels)
	}
	for i, h := range header {
		c := previewColumn{Index: i, Name: h, Personal: true}
		if i < len(fields) {
			c.Field = string(fields[i])
		}
		// A saved mapping may name an attribute declared since removed.
		if a, ok := contact.Field(c.Field).Attr(); ok {
			if _, known := attrs[a]; !known {
				c.Field, c.NewName = fieldNewAttr, a
			}
		}
		d.Columns = append(d.Columns, c)
	}
	return d, saved, nil
}

// say gives a message of the contact import in the page's language.
func (rc *reqCtx) say(s *Server, t contact.Text) string {
	return t.In(func(format string, args ...any) string { return s.cat.T(rc.lang, format, args...) })
}

// readErrorText says why a file cannot be read past its first rows: the
// reason when the import gives one, otherwise (a damaged upload, a disk
// error) plain words in the page's language, and the cause in the log.
func (s *Server) readErrorText(rc *reqCtx, err error, rowsRead int) string {
	if t, ok := contact.ErrorText(err); ok {
		return rc.say(s, t)
	}
	s.Log.Warn("import preview: read", "tenant", rc.tenant.ID, "rows", rowsRead, "err", err)
	return rc.t(s, "The file cannot be read further: it may be damaged. Upload it again, or save it again from your spreadsheet.")
}

func (s *Server) uploadPreview(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id := r.PathValue("id")
	if !db.ValidID(id) {
		s.fail(w, r, errNotFound)
		return
	}
	o := importOptsFrom(r.URL.Query().Get)
	d, _, err := s.loadPreview(r, rc, id, o)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderPreview(w, r, rc, http.StatusOK, "", d)
}

// renderPreview shows the preview; since it shows the file's first rows,
// personal data, each showing is recorded in the audit log.
func (s *Server) renderPreview(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, errMsg string, d previewData) {
	if d.FileError != "" && status == http.StatusOK {
		status = http.StatusUnprocessableEntity
	}
	if d.FileError == "" {
		if err := s.Audit.Record(r.Context(), nil, audit.Entry{TenantID: rc.tenant.ID, Actor: rc.actor(), Action: "import.preview",
			ObjectKind: "upload", ObjectID: d.ID}); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.render(w, r, rc, status, "import_preview", &view{Title: rc.t(s, "Check the columns"), Error: errMsg, Data: d})
}

var (
	newAttrName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)
	regionCode  = regexp.MustCompile(`^[A-Z]{2}$`)
)

// uploadRun checks the mapping the user chose, declares the new attributes,
// saves the mapping when asked, and queues the import.
func (s *Server) uploadRun(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	ctx := r.Context()
	id := r.PathValue("id")
	if !db.ValidID(id) {
		s.fail(w, r, errNotFound)
		return
	}
	o := importOptsFrom(r.PostFormValue)
	d, _, err := s.loadPreview(r, rc, id, o)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if d.FileError != "" {
		s.renderPreview(w, r, rc, http.StatusUnprocessableEntity, "", d)
		return
	}
	d.Opts = o
	d.Region = strings.ToUpper(strings.TrimSpace(r.PostFormValue("region")))
	d.AllOrNone = r.PostFormValue("all_or_nothing") == "1"
	d.SaveAs = strings.TrimSpace(r.PostFormValue("save_as"))
	known := map[string]bool{"": true}
	for _, c := range d.Choices {
		known[c.Value] = true
	}
	var newAttrs []contact.Attribute
	mapping := make([]string, len(d.Columns))
	seen := map[string]string{}
	var errMsg string
	for i := range d.Columns {
		c := &d.Columns[i]
		c.Field = r.PostFormValue("field_" + strconv.Itoa(i))
		c.NewName = strings.TrimSpace(r.PostFormValue("attr_" + strconv.Itoa(i)))
		c.Personal = r.PostFormValue("personal_"+strconv.Itoa(i)) == "1"
		f := c.Field
		switch {
		case f == fieldNewAttr:
			if !newAttrName.MatchString(c.NewName) {
				errMsg = rc.t(s, "Column %q: an attribute name is 1 to 40 lower-case letters, digits or underscores, starting with a letter.", c.Name)
				continue
			}
			f = string(contact.AttrField(c.NewName))
			if !known[f] {
				newAttrs = append(newAttrs, contact.Attribute{Name: c.NewName, Label: c.Name, Personal: c.Personal})
			}
		case !known[f]:
			errMsg = rc.t(s, "Column %q: choose a field from the list.", c.Name)
			continue
		}
		if f != "" {
			if prev, dup := seen[f]; dup {
				errMsg = rc.t(s, "Columns %q and %q are mapped to the same field: keep one.", prev, c.Name)
				continue
			}
			seen[f] = c.Name
		}
		mapping[i] = f
	}
	_, ext := seen[string(contact.FieldExternalID)]
	_, email := seen[string(contact.FieldEmailCol)]
	_, phone := seen[string(contact.FieldPhoneCol)]
	switch {
	case errMsg != "":
	case !ext && !email && !phone:
		errMsg = rc.t(s, "Map at least one column to the external id, the email or the phone, so that contacts can be told apart.")
	case d.Region != "" && !regionCode.MatchString(d.Region):
		errMsg = rc.t(s, "The region is a two-letter country code, such as FR or DE.")
	}
	if errMsg != "" {
		s.renderPreview(w, r, rc, http.StatusUnprocessableEntity, errMsg, d)
		return
	}
	for _, a := range newAttrs {
		if err := s.Contacts.DeclareAttribute(ctx, rc.actor(), rc.tenant.ID, a); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if d.SaveAs != "" {
		cols := map[string]contact.Field{}
		for i, c := range d.Columns {
			if mapping[i] != "" {
				cols[c.Name] = contact.Field(mapping[i])
			}
		}
		err := s.Contacts.SaveMapping(ctx, rc.tenant.ID, contact.SavedMapping{Name: d.SaveAs, Columns: cols,
			Options: contact.MappingOptions{Encoding: o.Encoding, Delimiter: o.Delimiter, Sheet: o.Sheet, Region: d.Region}})
		if errors.Is(err, contact.ErrMappingName) {
			s.renderPreview(w, r, rc, http.StatusUnprocessableEntity,
				rc.t(s, "A mapping name is 1 to 60 letters, digits, spaces, '_', '.' or '-'."), d)
			return
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
	}
	importID, err := s.Contacts.EnqueueImport(ctx, s.Jobs, rc.actor(), contact.ImportJobArgs{
		TenantID: rc.tenant.ID, UploadID: id, FileName: o.Name, Mapping: mapping,
		Encoding: o.Encoding, Delimiter: o.Delimiter, Sheet: o.Sheet, Region: d.Region, AllOrNothing: d.AllOrNone,
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/imports/"+importID, http.StatusSeeOther)
}

type importData struct {
	Import     contact.ImportRecord
	Running    bool
	RowsPerSec int
	Rejects    []pageReject
	More       bool
	// Error says why the import failed, in the page's language.
	Error string
}

// pageReject is a rejected row or cell, its reason in the page's language.
type pageReject struct {
	contact.Reject
	Reason string
}

// maxPageRejects is how many rejects the status page lists; the report has
// them all.
const maxPageRejects = 100

func (s *Server) importPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	ctx := r.Context()
	id := r.PathValue("id")
	if !db.ValidID(id) {
		s.fail(w, r, errNotFound)
		return
	}
	rec, err := s.Contacts.ImportByID(ctx, rc.tenant.ID, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := importData{Import: rec, Running: rec.Status == contact.StatusQueued || rec.Status == contact.StatusRunning}
	if rec.Error != "" {
		d.Error = rc.say(s, rec.ErrorText)
	}
	v := &view{Title: rc.t(s, "Import of %s", rec.FileName), Data: &d}
	if d.Running {
		v.Refresh = 2
		if el := time.Since(rec.StartedAt).Seconds(); el > 0 && !rec.StartedAt.IsZero() {
			d.RowsPerSec = int(float64(rec.Rows) / el)
		}
	} else {
		rs, err := s.Contacts.ImportRejects(ctx, rc.tenant.ID, id, 0, maxPageRejects+1)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if len(rs) > maxPageRejects {
			rs, d.More = rs[:maxPageRejects], true
		}
		for _, rj := range rs {
			d.Rejects = append(d.Rejects, pageReject{Reject: rj, Reason: rc.say(s, rj.ReasonText)})
		}
		if el := rec.FinishedAt.Sub(rec.StartedAt).Seconds(); el > 0 && !rec.FinishedAt.IsZero() {
			d.RowsPerSec = int(float64(rec.Rows) / el)
		}
	}
	s.render(w, r, rc, http.StatusOK, "import", v)
}

func (s *Server) importReport(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	ctx := r.Context()
	id := r.PathValue("id")
	if !db.ValidID(id) {
		s.fail(w, r, errNotFound)
		return
	}
	if _, err := s.Contacts.ImportByID(ctx, rc.tenant.ID, id); err != nil {
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="import-%s-report.csv"`, id))
	h.Set("Cache-Control", "no-store")
	tr := func(format string, args ...any) string { return s.cat.T(rc.lang, format, args...) }
	if err := s.Contacts.WriteReportCSVIn(ctx, rc.tenant.ID, id, w, tr); err != nil {
		// Headers are gone: the download ends short, and the log says why.
		s.Log.Error("import report", "import", id, "err", err)
	}
}

// StatusName gives an import status in the page's language.
func (v *view) StatusName(st string) string {
	switch st {
	case contact.StatusQueued:
		return v.T("queued")
	case contact.StatusRunning:
		return v.T("running")
	case contact.StatusDone:
		return v.T("done")
	case contact.StatusFailed:
		return v.T("failed")
	case contact.StatusDryRun:
		return v.T("dry run")
	}
	return st
}

// SourceName gives where an import came from in the page's language.
func (v *view) SourceName(kind string) string {
	switch kind {
	case "ui":
		return v.T("upload")
	case "cli":
		return v.T("command line")
	case "api":
		return v.T("API")
	case "sftp":
		return v.T("SFTP drop")
	}
	return kind
}
