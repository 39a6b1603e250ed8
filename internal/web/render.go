package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"avis/internal/account"
	"avis/internal/i18n"
)

type pages struct {
	byName map[string]*template.Template
}

func loadPages(cat *i18n.Catalogs) (*pages, error) {
	layout, err := fs.ReadFile(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("web: layout: %w", err)
	}
	// Pages for the people avis writes to (public_*.html) have their own
	// layout: no session, no navigation, the tenant's name and colour.
	publicLayout, err := fs.ReadFile(templateFS, "templates/public_layout.html")
	if err != nil {
		return nil, fmt.Errorf("web: public layout: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" || name == "public_layout" {
			continue
		}
		body, err := fs.ReadFile(templateFS, n)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", n, err)
		}
		base := layout
		if strings.HasPrefix(name, "public_") {
			base = publicLayout
		}
		t, err := template.New(name).Parse(string(base))
		if err == nil {
			_, err = t.Parse(string(body))
		}
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", n, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

type navItem struct {
	Href, Label string
	Current     bool
}

type langItem struct {
	Code, Name string
	Current    bool
}

// view is what every page template receives.
type view struct {
	cat       *i18n.Catalogs
	Lang      string
	Title     string
	CSRF      string
	Signed    bool
	Tenant    *account.Tenant
	Role      account.Role
	Nav       []navItem
	Languages []langItem
	Flash     string
	Error     string
	Version   string
	// Refresh, when above zero, makes the browser reload the page after
	// that many seconds (a running import's status page).
	Refresh int
	// Brand and LangLinks are for public pages: the tenant that asks, and
	// links to the same page in each language (no cookie is set).
	Brand     *publicBrand
	LangLinks []langLink
	Data      any
}

// publicBrand is how a tenant appears on the pages its customers see.
type publicBrand struct {
	// Name is the company's name as its customers know it.
	Name string
	// LogoURL and StyleURL, when set, are same-origin URLs of the tenant's
	// logo and of a stylesheet that sets its colours.
	LogoURL, StyleURL string
}

// langLink is one entry of a public page's language menu.
type langLink struct {
	Code, Name, Href string
	Current          bool
}

// T translates a message into the page's language.
func (v *view) T(msg string, args ...any) string { return v.cat.T(v.Lang, msg, args...) }

// Can reports whether the signed-in user's role allows a permission.
func (v *view) Can(p string) bool { return v.Role != "" && v.Role.Can(account.Permission(p)) }

// Date formats a day the way the page's language writes it.
func (v *view) Date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	if v.Lang == "en" {
		return t.Format("2006-01-02")
	}
	return t.Format("02/01/2006")
}

// DateTime formats a moment (UTC) the way the page's language writes it.
func (v *view) DateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return v.Date(t) + " " + t.UTC().Format("15:04:05") + " UTC"
}

// render writes a page; it renders into a buffer first so that a template
// error never leaves half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, name string, v *view) {
	t, ok := s.pages.byName[name]
	if !ok {
		s.Log.Error("web: no such template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	s.fillView(r, rc, v)
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		s.Log.Error("web: render", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (s *Server) fillView(r *http.Request, rc *reqCtx, v *view) {
	v.cat = s.cat
	v.Version = s.Version
	if rc != nil {
		v.Lang = rc.lang
		v.CSRF = rc.csrf
		v.Signed = rc.sess != nil
		if rc.tenant.ID != "" {
			t := rc.tenant
			v.Tenant = &t
			v.Role = rc.role
		}
	}
	if v.Lang == "" {
		v.Lang = s.lang(r, "")
	}
	if v.CSRF == "" {
		v.CSRF = loginCSRF(r)
	}
	for _, l := range i18n.Languages {
		v.Languages = append(v.Languages, langItem{Code: l, Name: i18n.Names[l], Current: l == v.Lang})
	}
	if v.Role == "" {
		return
	}
	for _, n := range []struct {
		href, label string
		perm        account.Permission
	}{
		{"/", "Home", account.PermResultsRead},
		{"/contacts", "Contacts", account.PermContactsRead},
		{"/imports", "Imports", account.PermContactsRead},
		{"/journeys", "Journeys", account.PermContactsRead},
		{"/surveys", "Surveys", account.PermResultsRead},
		{"/invitations", "Invitations", account.PermResultsRead},
		{"/outbox", "Outbox", account.PermContactsRead},
		{"/requests", "Data requests", account.PermContactsRead},
		{"/messaging", "Messaging", account.PermTenantSettings},
		{"/settings/privacy", "Privacy", account.PermTenantSettings},
		{"/sftp", "SFTP", account.PermContactsWrite},
		{"/exports", "Exports", account.PermTenantSettings},
		{"/users", "Users", account.PermUsersManage},
		{"/apikeys", "API keys", account.PermAPIKeysManage},
		{"/webhooks", "Webhooks", account.PermAPIKeysManage},
		{"/audit", "Audit log", account.PermAuditRead},
		{"/settings", "Settings", account.PermTenantSettings},
	} {
		if v.Role.Can(n.perm) {
			v.Nav = append(v.Nav, navItem{Href: n.href, Label: v.T(n.label), Current: r.URL.Path == n.href})
		}
	}
}

// fail answers with an error page (or problem+json under /api/) that shows
// only the PublicError; the cause goes to the log.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	pe := publicError(err)
	if pe.Status >= 500 && err != nil {
		s.Log.Error("request failed", "route", r.Pattern, "err", err)
	}
	if strings.HasPrefix(r.URL.Path, "/api/") {
		problem(w, pe)
		return
	}
	rc := reqCtxFrom(r)
	lang := s.lang(r, "")
	if rc != nil {
		lang = rc.lang
	}
	v := &view{Title: s.cat.T(lang, http.StatusText(pe.Status)), Data: s.cat.T(lang, pe.Message)}
	s.render(w, r, rc, pe.Status, "error", v)
}

var roleNames = map[string]string{"owner": "Owner", "admin": "Administrator", "analyst": "Analyst", "moderator": "Moderator", "viewer": "Viewer"}

// RoleName gives a role's name in the page's language.
func (v *view) RoleName(r any) string {
	name := fmt.Sprint(r)
	if n, ok := roleNames[name]; ok {
		return v.T(n)
	}
	return name
}
