package web

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"avis/internal/crmsync"
	"avis/internal/db"
)

// exportTestTimeout bounds a connection test from the page.
const exportTestTimeout = 30 * time.Second

// exportForm is the schedule form as typed, without the secret: a password
// or a key is never written back into a page.
type exportForm struct {
	Name, Protocol, Host, Port, Username, AuthKind, Fingerprint, TLSFingerprint string
	Folder, Format, Pattern, Cron, TimeZone                                     string
	Kinds                                                                       []string
	Personal, Enabled, FromNow                                                  bool
}

// HasKind reports whether the form exports kind.
func (f exportForm) HasKind(kind string) bool { return slices.Contains(f.Kinds, kind) }

type exportsData struct {
	Schedules []crmsync.Schedule
	// ID is the schedule being edited ("" for a new one).
	ID   string
	Form exportForm
	// Errs are the form's problems by field, translated.
	Errs map[string]string
	// Runs is the edited schedule's export log.
	Runs []crmsync.Run
	// Kinds and Formats are the choices of the form.
	Kinds, Formats []string
}

func defaultExportForm() exportForm {
	return exportForm{Protocol: crmsync.ProtocolSFTP, Port: "22", AuthKind: crmsync.AuthPassword, Folder: ".",
		Format: crmsync.FormatCSV, Cron: crmsync.DefaultExportCron, TimeZone: crmsync.DefaultExportZone,
		Kinds: []string{crmsync.KindResponses}, Enabled: true, FromNow: true}
}

func exportFormOf(sc crmsync.Schedule) exportForm {
	return exportForm{Name: sc.Name, Protocol: sc.Protocol, Host: sc.Host, Port: strconv.Itoa(sc.Port), Username: sc.Username,
		AuthKind: sc.AuthKind, Fingerprint: sc.HostKeyFingerprint, TLSFingerprint: sc.TLSFingerprint, Folder: sc.Folder,
		Format: sc.Format, Pattern: sc.FilePattern, Cron: sc.Cron, TimeZone: sc.TimeZone, Kinds: sc.Kinds,
		Personal: sc.Personal, Enabled: sc.Enabled}
}

func exportFormFrom(r *http.Request) exportForm {
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	f := exportForm{Name: v("name"), Protocol: v("protocol"), Host: v("host"), Port: v("port"), Username: v("username"),
		AuthKind: v("auth"), Fingerprint: v("fingerprint"), TLSFingerprint: v("tls_fingerprint"), Folder: v("folder"),
		Format: v("format"), Pattern: v("pattern"), Cron: v("cron"), TimeZone: v("time_zone"),
		Personal: r.PostFormValue("personal") == "1", Enabled: r.PostFormValue("enabled") == "1",
		FromNow: r.PostFormValue("from_now") == "1"}
	for _, k := range r.PostForm["kinds"] {
		if len(f.Kinds) < len(crmsync.ExportKinds)+1 {
			f.Kinds = append(f.Kinds, k)
		}
	}
	if f.AuthKind != crmsync.AuthKey {
		f.AuthKind = crmsync.AuthPassword
	}
	return f
}

// input turns the form into a store input; a port that is not a number
// is a problem of its own.
func (f exportForm) input(r *http.Request) (crmsync.ExportInput, bool) {
	port := 0
	if f.Port != "" {
		p, err := strconv.Atoi(f.Port)
		if err != nil {
			return crmsync.ExportInput{}, false
		}
		port = p
	}
	secret := r.PostFormValue("password")
	if f.AuthKind == crmsync.AuthKey {
		secret = strings.TrimSpace(r.PostFormValue("private_key")) + "\n"
		if secret == "\n" {
			secret = ""
		}
	}
	return crmsync.ExportInput{Name: f.Name, Kinds: f.Kinds, Protocol: f.Protocol, Host: f.Host, Port: port,
		Username: f.Username, AuthKind: f.AuthKind, Secret: secret, HostKeyFingerprint: f.Fingerprint,
		TLSFingerprint: f.TLSFingerprint, Folder: f.Folder, Format: f.Format, FilePattern: f.Pattern, Cron: f.Cron,
		TimeZone: f.TimeZone, Personal: f.Personal, Enabled: f.Enabled}, true
}

func (s *Server) exportsPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.renderExports(w, r, rc, http.StatusOK, "", "", exportsData{Form: defaultExportForm()})
}

func (s *Server) renderExports(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, flash, errMsg string, d exportsData) {
	list, err := s.Exports.List(r.Context(), rc.tenant.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Schedules, d.Kinds = list, crmsync.ExportKinds
	d.Formats = []string{crmsync.FormatCSV, crmsync.FormatCSVExcel, crmsync.FormatJSONL}
	title := rc.t(s, "Exports")
	if d.ID != "" {
		title = rc.t(s, "Export: %s", d.Form.Name)
	}
	s.render(w, r, rc, status, "exports", &view{Title: title, Flash: flash, Error: errMsg, Data: d})
}

// exportProblems translates the problems of a schedule's validation, by
// field.
func (s *Server) exportProblems(rc *reqCtx, err error) map[string]string {
	out := map[string]string{}
	for _, p := range crmsync.ExportProblems(err) {
		// An argument may be a problem of its own (the private key's,
		// given as "%s").
		args := make([]any, len(p.Args))
		for i, a := range p.Args {
			if text, ok := a.(string); ok {
				a = s.transferText(rc, text)
			}
			args[i] = a
		}
		msg := s.cat.T(rc.lang, p.Format, args...)
		if prev := out[p.Field]; prev != "" {
			msg = prev + " " + msg
		}
		out[p.Field] = msg
	}
	return out
}

// exportSave creates (id "") or updates a schedule from the form.
func (s *Server) exportSave(w http.ResponseWriter, r *http.Request, rc *reqCtx, id string) {
	f := exportFormFrom(r)
	d := exportsData{ID: id, Form: f}
	again := func(errs map[string]string) {
		d.Errs = errs
		if id != "" {
			d.Runs, _ = s.Exports.Runs(r.Context(), rc.tenant.ID, id, 20)
		}
		s.renderExports(w, r, rc, http.StatusUnprocessableEntity, "", rc.t(s, "The export was not saved: see the fields marked below."), d)
	}
	in, ok := f.input(r)
	if !ok {
		again(map[string]string{"port": rc.t(s, "The port is a number between 1 and 65535 (SFTP uses 22, FTPS 21).")})
		return
	}
	var err error
	if id == "" {
		_, err = s.Exports.Create(r.Context(), rc.actor(), rc.tenant.ID, in, f.FromNow)
	} else {
		_, err = s.Exports.Update(r.Context(), rc.actor(), rc.tenant.ID, id, in)
	}
	switch {
	case errors.Is(err, crmsync.ErrInvalidExport):
		again(s.exportProblems(rc, err))
	case errors.Is(err, db.ErrConflict):
		again(map[string]string{"name": rc.t(s, "An export of that name already exists: choose another name.")})
	case err != nil:
		s.fail(w, r, err)
	default:
		s.renderExports(w, r, rc, http.StatusOK, rc.t(s, "Export saved."), "", exportsData{Form: defaultExportForm()})
	}
}

func (s *Server) exportCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.exportSave(w, r, rc, "")
}

// exportOf loads the schedule named in the path, or answers 404.
func (s *Server) exportOf(w http.ResponseWriter, r *http.Request, rc *reqCtx) (crmsync.Schedule, bool) {
	id := r.PathValue("id")
	if !db.ValidID(id) {
		s.fail(w, r, errNotFound)
		return crmsync.Schedule{}, false
	}
	sc, err := s.Exports.Get(r.Context(), rc.tenant.ID, id)
	if err != nil {
		s.fail(w, r, err)
		return crmsync.Schedule{}, false
	}
	return sc, true
}

// exportEdit shows one schedule's form and its export log.
func (s *Server) exportEdit(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.renderExport(w, r, rc, http.StatusOK, "", "")
}

func (s *Server) renderExport(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, flash, errMsg string) {
	sc, ok := s.exportOf(w, r, rc)
	if !ok {
		return
	}
	runs, err := s.Exports.Runs(r.Context(), rc.tenant.ID, sc.ID, 20)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderExports(w, r, rc, status, flash, errMsg, exportsData{ID: sc.ID, Form: exportFormOf(sc), Runs: runs})
}

func (s *Server) exportUpdate(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	sc, ok := s.exportOf(w, r, rc)
	if !ok {
		return
	}
	s.exportSave(w, r, rc, sc.ID)
}

func (s *Server) exportDelete(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	sc, ok := s.exportOf(w, r, rc)
	if !ok {
		return
	}
	if err := s.Exports.Delete(r.Context(), rc.actor(), rc.tenant.ID, sc.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderExports(w, r, rc, http.StatusOK, rc.t(s, "Export deleted; its password or key is destroyed."), "", exportsData{Form: defaultExportForm()})
}

// exportRun queues a run now; the job does the work, never the request.
func (s *Server) exportRun(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	sc, ok := s.exportOf(w, r, rc)
	if !ok {
		return
	}
	ctx := r.Context()
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		return s.Jobs.InsertTx(ctx, tx, crmsync.ExportArgs{TenantID: rc.tenant.ID, ScheduleID: sc.ID, Cause: crmsync.CauseManual}, nil)
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderExport(w, r, rc, http.StatusOK, rc.t(s, "An export is queued (one runs at a time per schedule): its outcome appears in the log below once it has run."), "")
}

// exportTest connects to the destination and writes, renames and removes
// a probe file, within the request.
func (s *Server) exportTest(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	sc, ok := s.exportOf(w, r, rc)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), exportTestTimeout)
	defer cancel()
	if err := s.Exports.Test(ctx, rc.tenant.ID, sc.ID); err != nil {
		s.renderExport(w, r, rc, http.StatusBadGateway, "", rc.t(s, "The connection test failed:")+" "+s.problem(rc, err))
		return
	}
	s.renderExport(w, r, rc, http.StatusOK, rc.t(s, "The connection works: avis wrote, renamed and removed a test file in the folder."), "")
}

// problem writes what an export or an SFTP drop says went wrong in the
// page's language (crmsync.TranslateProblem); words avis does not know,
// such as a server's own, stay as they are.
func (s *Server) problem(rc *reqCtx, err error) string { return s.transferText(rc, err.Error()) }

// transferText is problem for a stored text.
func (s *Server) transferText(rc *reqCtx, stored string) string {
	return crmsync.TranslateProblem(stored, func(f string, args ...any) string { return s.cat.T(rc.lang, f, args...) })
}

// KindName is the label of an export kind.
func (v *view) KindName(kind string) string {
	switch kind {
	case crmsync.KindResponses:
		return v.T("Responses")
	case crmsync.KindInvitations:
		return v.T("Invitation statuses")
	case crmsync.KindUnsubscribes:
		return v.T("Unsubscribes")
	}
	return kind
}

// FormatName is the label of an export format.
func (v *view) FormatName(format string) string {
	switch format {
	case crmsync.FormatCSVExcel:
		return v.T("CSV for Excel (Windows-1252, ;)")
	case crmsync.FormatJSONL:
		return v.T("JSON Lines")
	}
	return v.T("CSV (UTF-8, ,)")
}

// OutcomeName is the label of an export run's outcome.
func (v *view) OutcomeName(outcome string) string {
	switch outcome {
	case crmsync.RunOK:
		return v.T("Written")
	case crmsync.RunNothing:
		return v.T("Nothing new")
	case crmsync.RunFailed:
		return v.T("Failed")
	case crmsync.RunInterrupted:
		return v.T("Interrupted")
	}
	return v.T("Running")
}
