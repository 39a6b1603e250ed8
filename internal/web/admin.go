package web

import (
	"bytes"
	"encoding/base64"
	"errors"
	"html/template"
	"image/png"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/contact"
	"avis/internal/db"
)

type homeData struct{ Contacts, Members, APIKeys int }

func (s *Server) home(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	ctx := r.Context()
	var d homeData
	var err error
	if d.Contacts, err = s.Contacts.Count(ctx, rc.tenant.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	if d.Members, err = s.Accounts.MemberCount(ctx, rc.tenant.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	keys, err := s.Accounts.APIKeys(ctx, rc.tenant.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, k := range keys {
		if k.RevokedAt.IsZero() {
			d.APIKeys++
		}
	}
	s.render(w, r, rc, http.StatusOK, "home", &view{Title: rc.tenant.Name, Data: d})
}

type userForm struct{ Email, Name, Role string }

type usersData struct {
	Members []account.Member
	Roles   []string
	Form    userForm
}

var roles = []string{string(account.RoleOwner), string(account.RoleAdmin), string(account.RoleAnalyst), string(account.RoleModerator), string(account.RoleViewer)}

func (s *Server) usersPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.renderUsers(w, r, rc, http.StatusOK, "", "", userForm{Role: string(account.RoleViewer)})
}

func (s *Server) renderUsers(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, flash, errMsg string, f userForm) {
	ms, err := s.Accounts.Members(r.Context(), rc.actor(), rc.tenant.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, rc, status, "users", &view{Title: rc.t(s, "Users and roles"), Flash: flash, Error: errMsg,
		Data: usersData{Members: ms, Roles: roles, Form: f}})
}

func (s *Server) userCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	f := userForm{Email: strings.TrimSpace(r.PostFormValue("email")), Name: strings.TrimSpace(r.PostFormValue("name")), Role: r.PostFormValue("role")}
	role, err := account.ParseRole(f.Role)
	if err != nil {
		s.renderUsers(w, r, rc, http.StatusUnprocessableEntity, "", rc.t(s, "Choose one of the roles in the list."), f)
		return
	}
	if !rc.role.CanAssign(role) {
		s.renderUsers(w, r, rc, http.StatusForbidden, "", rc.t(s, "Only an owner can make someone an owner."), f)
		return
	}
	_, err = s.Accounts.CreateUser(r.Context(), rc.actor(), rc.tenant.ID, f.Email, f.Name, r.PostFormValue("password"), role)
	if msg := s.accountMessage(rc, err); msg != "" {
		s.renderUsers(w, r, rc, http.StatusUnprocessableEntity, "", msg, f)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderUsers(w, r, rc, http.StatusOK, rc.t(s, "User added."), "", userForm{Role: string(account.RoleViewer)})
}

// accountMessage turns the account errors a user can act on into a message
// in their language; other errors give "".
func (s *Server) accountMessage(rc *reqCtx, err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, account.ErrWeakPassword):
		return rc.t(s, "The password is too weak:") + " " + rc.t(s, strings.TrimPrefix(err.Error(), account.ErrWeakPassword.Error()+": "))
	case errors.Is(err, account.ErrInvalidName):
		return rc.t(s, "Give a name of at most 200 characters.")
	case errors.Is(err, account.ErrInvalidEmail):
		return rc.t(s, "That email address is not valid.")
	case errors.Is(err, account.ErrLastOwner):
		return rc.t(s, "An account keeps at least one owner: make someone else owner first.")
	case errors.Is(err, account.ErrInvalidScope):
		return rc.t(s, "Choose scopes from the list.")
	case errors.Is(err, db.ErrConflict):
		return rc.t(s, "That person is already a member.")
	}
	return ""
}

func (s *Server) userRole(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	role, err := account.ParseRole(r.PostFormValue("role"))
	if err != nil {
		s.renderUsers(w, r, rc, http.StatusUnprocessableEntity, "", rc.t(s, "Choose one of the roles in the list."), userForm{})
		return
	}
	if !rc.role.CanAssign(role) {
		s.fail(w, r, errForbidden)
		return
	}
	err = s.Accounts.SetRole(r.Context(), rc.actor(), rc.tenant.ID, r.PathValue("id"), role)
	s.afterUserChange(w, r, rc, err, rc.t(s, "Role saved."))
}

func (s *Server) userRemove(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	err := s.Accounts.RemoveMember(r.Context(), rc.actor(), rc.tenant.ID, r.PathValue("id"))
	s.afterUserChange(w, r, rc, err, rc.t(s, "User removed from this account."))
}

func (s *Server) afterUserChange(w http.ResponseWriter, r *http.Request, rc *reqCtx, err error, ok string) {
	switch {
	case errors.Is(err, db.ErrNotFound):
		s.fail(w, r, errNotFound)
	case s.accountMessage(rc, err) != "":
		s.renderUsers(w, r, rc, http.StatusConflict, "", s.accountMessage(rc, err), userForm{Role: string(account.RoleViewer)})
	case err != nil:
		s.fail(w, r, err)
	default:
		s.renderUsers(w, r, rc, http.StatusOK, ok, "", userForm{Role: string(account.RoleViewer)})
	}
}

type apiKeysData struct {
	Keys    []account.APIKey
	Scopes  []string
	Created string
}

func (s *Server) apiKeysPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.renderKeys(w, r, rc, http.StatusOK, "", "", "")
}

func (s *Server) renderKeys(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, created, flash, errMsg string) {
	keys, err := s.Accounts.APIKeys(r.Context(), rc.tenant.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, rc, status, "apikeys", &view{Title: rc.t(s, "API keys"), Flash: flash, Error: errMsg,
		Data: apiKeysData{Keys: keys, Scopes: account.Scopes, Created: created}})
}

func (s *Server) apiKeyCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	if name == "" || len(name) > 100 {
		s.renderKeys(w, r, rc, http.StatusUnprocessableEntity, "", "", rc.t(s, "Give the key a name of at most 100 characters."))
		return
	}
	r.ParseForm()
	scopes := r.PostForm["scope"]
	if len(scopes) == 0 {
		s.renderKeys(w, r, rc, http.StatusUnprocessableEntity, "", "", rc.t(s, "Choose at least one scope."))
		return
	}
	plain, _, err := s.Accounts.CreateAPIKey(r.Context(), rc.actor(), rc.tenant.ID, name, scopes)
	if msg := s.accountMessage(rc, err); msg != "" {
		s.renderKeys(w, r, rc, http.StatusUnprocessableEntity, "", "", msg)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderKeys(w, r, rc, http.StatusOK, plain, "", "")
}

func (s *Server) apiKeyRevoke(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	err := s.Accounts.RevokeAPIKey(r.Context(), rc.actor(), rc.tenant.ID, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderKeys(w, r, rc, http.StatusOK, "", rc.t(s, "Key revoked: it no longer works."), "")
}

type auditData struct {
	Records  []audit.Record
	Filter   audit.Filter
	Next     int64
	Intact   bool
	BrokenAt int64
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	q := r.URL.Query()
	// A filter is text: bytes no column holds (NUL, invalid UTF-8) would
	// fail the query on PostgreSQL; they match nothing.
	text := func(v string) string { return strings.ToValidUTF8(strings.ReplaceAll(v, "\x00", "\uFFFD"), "\uFFFD") }
	f := audit.Filter{Action: text(q.Get("action")), SubjectID: text(q.Get("subject")), Limit: 50}
	f.BeforeSeq, _ = strconv.ParseInt(q.Get("before"), 10, 64)
	recs, err := s.Audit.List(r.Context(), rc.tenant.ID, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := auditData{Records: recs, Filter: f, Intact: true}
	if len(recs) == f.Limit {
		d.Next = recs[len(recs)-1].Seq
	}
	if err := s.Audit.Verify(r.Context(), rc.tenant.ID); err != nil {
		var be *audit.BreakError
		if !errors.As(err, &be) {
			s.fail(w, r, err)
			return
		}
		d.Intact, d.BrokenAt = false, be.Seq
	}
	s.render(w, r, rc, http.StatusOK, "audit", &view{Title: rc.t(s, "Audit log"), Data: d})
}

func (s *Server) contactsPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	// The cursor is a contact id; anything else is a wrong address (and
	// must not reach the audit entry of the read).
	after := r.URL.Query().Get("after")
	if after != "" && !db.ValidID(after) {
		s.fail(w, r, errNotFound)
		return
	}
	p, err := s.Contacts.List(r.Context(), rc.actor(), rc.tenant.ID, after, 50)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, rc, http.StatusOK, "contacts", &view{Title: rc.t(s, "Contacts"), Data: struct{ Page any }{p}})
}

func (s *Server) contactPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id := r.PathValue("id")
	if !db.ValidID(id) {
		s.fail(w, r, errNotFound)
		return
	}
	c, err := s.Contacts.Get(r.Context(), rc.actor(), rc.tenant.ID, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	restricted, err := s.Contacts.Restriction(r.Context(), rc.tenant.ID, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := &view{Title: rc.t(s, "Contact"), Data: contactView{Contact: c, RestrictedAt: restricted}}
	switch r.URL.Query().Get("done") {
	case "restricted":
		v.Flash = rc.t(s, "Processing restricted: this person will not be invited until the restriction is lifted.")
	case "unrestricted":
		v.Flash = rc.t(s, "Restriction lifted.")
	}
	s.render(w, r, rc, http.StatusOK, "contact", v)
}

// contactView is a contact page: the decrypted contact and whether its
// processing is restricted.
type contactView struct {
	contact.Contact
	RestrictedAt time.Time
}

// contactRestrict sets or lifts the restriction of processing (GDPR
// Art. 18) of a contact.
func (s *Server) contactRestrict(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id := r.PathValue("id")
	on := r.PostFormValue("restrict") == "1"
	err := s.Contacts.Restrict(r.Context(), rc.actor(), rc.tenant.ID, id, on)
	if errors.Is(err, db.ErrNotFound) || !db.ValidID(id) {
		s.fail(w, r, errNotFound)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	done := "unrestricted"
	if on {
		done = "restricted"
	}
	http.Redirect(w, r, "/contacts/"+id+"?done="+done, http.StatusSeeOther)
}

func (s *Server) contactErase(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id := r.PathValue("id")
	err := s.Contacts.Erase(r.Context(), rc.actor(), rc.tenant.ID, id)
	if errors.Is(err, db.ErrNotFound) || !db.ValidID(id) {
		s.fail(w, r, errNotFound)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/contacts", http.StatusSeeOther)
}

func (s *Server) settingsPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.render(w, r, rc, http.StatusOK, "settings", &view{Title: rc.t(s, "Account settings")})
}

func (s *Server) settingsMFA(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	on := r.PostFormValue("require") == "1"
	if err := s.Accounts.SetRequireMFA(r.Context(), rc.actor(), rc.tenant.ID, on); err != nil {
		s.fail(w, r, err)
		return
	}
	rc.tenant.RequireMFA = on
	s.render(w, r, rc, http.StatusOK, "settings", &view{Title: rc.t(s, "Account settings"), Flash: rc.t(s, "Saved.")})
}

type mfaSetupData struct {
	Enabled, Required bool
	Secret            string
	QR                template.URL
}

func (s *Server) mfaSetupPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.renderMFASetup(w, r, rc, http.StatusOK, "")
}

func (s *Server) renderMFASetup(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, errMsg string) {
	ctx := r.Context()
	on, err := s.Accounts.MFAEnabled(ctx, rc.sess.UserID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := mfaSetupData{Enabled: on, Required: rc.tenant.RequireMFA}
	if !on {
		secret, u, err := s.Accounts.BeginTOTP(ctx, rc.sess.UserID, "avis")
		if err != nil {
			s.fail(w, r, err)
			return
		}
		d.Secret = secret
		if k, err := otp.NewKeyFromURL(u); err == nil {
			if img, err := k.Image(200, 200); err == nil {
				var buf bytes.Buffer
				if png.Encode(&buf, img) == nil {
					d.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()))
				}
			}
		}
	}
	s.render(w, r, rc, status, "mfa_setup", &view{Title: rc.t(s, "Set up a second factor"), Error: errMsg, Data: d})
}

func (s *Server) mfaSetupConfirm(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	code := strings.ReplaceAll(r.PostFormValue("code"), " ", "")
	err := s.Accounts.ConfirmTOTP(r.Context(), rc.sess.UserID, code)
	if errors.Is(err, account.ErrBadTOTP) {
		s.renderMFASetup(w, r, rc, http.StatusUnprocessableEntity, rc.t(s, "That code is not right. Check the clock of your phone and try the next code."))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// passwordReasons are the account package's reasons for refusing a
// password, listed so that the catalogues translate each.
var passwordReasons = []string{
	"use at least 12 characters (a few unrelated words are easy to remember)",
	"use at most 1024 characters",
	"it repeats too few different characters; mix more letters, digits or words",
	"it is only digits, like a date or a phone number; add letters or use a few words",
	"it is a simple sequence of characters",
	"it contains your email address",
	"it is one of the most used passwords, which are tried first",
}
