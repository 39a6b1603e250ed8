package web

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"avis/internal/crmsync"
	"avis/internal/db"
)

// hostKeyTimeout bounds reading a server's host key from the page.
const hostKeyTimeout = 10 * time.Second

// sftpForm is the create form as typed, without the secret: a password or
// a key is never written back into a page.
type sftpForm struct {
	Name, Host, Port, Username, AuthKind, Fingerprint, Folder, Pattern, Interval string
	Enabled                                                                      bool
}

type sftpData struct {
	Sources []crmsync.Source
	Form    sftpForm
	// Checked is the host:port whose host key was just read into the form.
	Checked string
}

func defaultSFTPForm() sftpForm {
	return sftpForm{Port: "22", AuthKind: crmsync.AuthPassword, Folder: ".", Pattern: crmsync.DefaultPattern,
		Interval: strconv.Itoa(int(crmsync.DefaultInterval / time.Minute)), Enabled: true}
}

func sftpFormFrom(r *http.Request) sftpForm {
	f := sftpForm{
		Name: strings.TrimSpace(r.PostFormValue("name")), Host: strings.TrimSpace(r.PostFormValue("host")),
		Port: strings.TrimSpace(r.PostFormValue("port")), Username: strings.TrimSpace(r.PostFormValue("username")),
		AuthKind: r.PostFormValue("auth"), Fingerprint: strings.TrimSpace(r.PostFormValue("fingerprint")),
		Folder: strings.TrimSpace(r.PostFormValue("folder")), Pattern: strings.TrimSpace(r.PostFormValue("pattern")),
		Interval: strings.TrimSpace(r.PostFormValue("interval")), Enabled: r.PostFormValue("enabled") == "1",
	}
	if f.AuthKind != crmsync.AuthKey {
		f.AuthKind = crmsync.AuthPassword
	}
	return f
}

func (s *Server) sftpPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.renderSFTP(w, r, rc, http.StatusOK, "", "", sftpData{Form: defaultSFTPForm()})
}

func (s *Server) renderSFTP(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, flash, errMsg string, d sftpData) {
	list, err := s.SFTP.List(r.Context(), rc.tenant.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Sources = list
	s.render(w, r, rc, status, "sftp", &view{Title: rc.t(s, "SFTP drops"), Flash: flash, Error: errMsg, Data: d})
}

// sftpHostKey reads the host key of the server named in the form, and
// gives the form back with its fingerprint filled in, for the user to
// compare with the one the server's administrator gives.
func (s *Server) sftpHostKey(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	f := sftpFormFrom(r)
	if f.Port == "" {
		f.Port = "22"
	}
	port, err := strconv.Atoi(f.Port)
	if err != nil || port < 1 || port > 65535 {
		s.renderSFTP(w, r, rc, http.StatusUnprocessableEntity, "", rc.t(s, "The port is a number between 1 and 65535 (SSH uses 22)."), sftpData{Form: f})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), hostKeyTimeout)
	defer cancel()
	fp, err := crmsync.HostKeyFingerprint(ctx, f.Host, port)
	if err != nil {
		s.renderSFTP(w, r, rc, http.StatusBadGateway, "", rc.t(s, "avis could not read the server's host key:")+" "+s.problem(rc, err), sftpData{Form: f})
		return
	}
	f.Fingerprint = fp
	s.renderSFTP(w, r, rc, http.StatusOK, "", "", sftpData{Form: f, Checked: f.Host + ":" + f.Port})
}

func (s *Server) sftpCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	f := sftpFormFrom(r)
	again := func(msg string) {
		s.renderSFTP(w, r, rc, http.StatusUnprocessableEntity, "", msg, sftpData{Form: f})
	}
	port, minutes := 0, 0
	var err error
	if f.Port != "" {
		if port, err = strconv.Atoi(f.Port); err != nil || port < 1 || port > 65535 {
			again(rc.t(s, "The port is a number between 1 and 65535 (SSH uses 22)."))
			return
		}
	}
	if f.Interval != "" {
		if minutes, err = strconv.Atoi(f.Interval); err != nil || minutes < 1 {
			again(rc.t(s, "The interval is a whole number of minutes, at least 1."))
			return
		}
	}
	secret := r.PostFormValue("password")
	if f.AuthKind == crmsync.AuthKey {
		secret = strings.TrimSpace(r.PostFormValue("private_key")) + "\n"
		if secret == "\n" {
			secret = ""
		}
	}
	_, err = s.SFTP.Create(r.Context(), rc.actor(), rc.tenant.ID, crmsync.SourceInput{
		Name: f.Name, Host: f.Host, Port: port, Username: f.Username, AuthKind: f.AuthKind, Secret: secret,
		HostKeyFingerprint: f.Fingerprint, Folder: f.Folder, Pattern: f.Pattern, Enabled: f.Enabled,
		Interval: time.Duration(minutes) * time.Minute,
	})
	switch {
	case errors.Is(err, crmsync.ErrInvalid):
		again(rc.t(s, "The source was not saved:") + " " + s.transferText(rc, strings.TrimPrefix(err.Error(), crmsync.ErrInvalid.Error()+": ")))
	case errors.Is(err, db.ErrConflict):
		again(rc.t(s, "A source of that name already exists: choose another name."))
	case err != nil:
		s.fail(w, r, err)
	default:
		s.renderSFTP(w, r, rc, http.StatusOK, rc.t(s, "SFTP drop saved."), "", sftpData{Form: defaultSFTPForm()})
	}
}

func (s *Server) sftpDelete(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id := r.PathValue("id")
	if !db.ValidID(id) {
		s.fail(w, r, errNotFound)
		return
	}
	err := s.SFTP.Delete(r.Context(), rc.actor(), rc.tenant.ID, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderSFTP(w, r, rc, http.StatusOK, rc.t(s, "SFTP drop deleted; its password or key is destroyed."), "", sftpData{Form: defaultSFTPForm()})
}

// sftpFetch queues a fetch of the source now; the job does the fetching,
// never the request.
func (s *Server) sftpFetch(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	ctx := r.Context()
	id := r.PathValue("id")
	if !db.ValidID(id) {
		s.fail(w, r, errNotFound)
		return
	}
	if _, err := s.SFTP.Get(ctx, rc.tenant.ID, id); err != nil {
		s.fail(w, r, err)
		return
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		return s.Jobs.InsertTx(ctx, tx, crmsync.FetchArgs{TenantID: rc.tenant.ID, SourceID: id}, nil)
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderSFTP(w, r, rc, http.StatusOK, rc.t(s, "A fetch is queued: this page shows its outcome once it has run."), "", sftpData{Form: defaultSFTPForm()})
}

// Minutes writes a duration in whole minutes.
func (v *view) Minutes(d time.Duration) int { return int(d / time.Minute) }
