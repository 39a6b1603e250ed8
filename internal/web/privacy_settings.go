package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"avis/internal/account"
	"avis/internal/db"
	"avis/internal/i18n"
	"avis/internal/privacy"
)

// privacyRoutes registers the tenant's privacy profile, branding and information notice.
func (s *Server) privacyRoutes(mux *recordingMux) {
	mux.Handle("GET /settings/privacy", s.authed(s.privacyPage, authOpts{perm: account.PermTenantSettings}))
	mux.Handle("POST /settings/privacy", s.authed(s.privacySave, authOpts{perm: account.PermTenantSettings}))
	mux.HandleFunc("GET /legal/{tenant}/notice", s.legalPage)
	mux.HandleFunc("GET /legal/{tenant}/publication", s.legalPage)
	mux.HandleFunc("GET /brand/{tenant}/logo", s.brandLogo)
	mux.HandleFunc("GET /brand/{tenant}/style.css", s.brandStyle)
}

// privacyForm is the privacy profile form as typed, with its problems and
// a preview of the notice.
type privacyForm struct {
	LegalName, Address, DPOName, DPOEmail, PolicyURL string
	RetentionMonths, Authority, BrandColor           string
	// HasLogo says a logo is saved; LogoURL shows it.
	HasLogo bool
	LogoURL string
	Errs    formErrors
	// Preview is the notice in PreviewLang; Saved says it is the saved
	// profile's (not a draft's).
	Preview     privacy.Notice
	PreviewLang string
	Languages   []langItem
	Saved       bool
	Complete    bool
	NoticeURL   string
	TermsURL    string
	Min, Max    int
	TenantName  string
	// Versions are the information notice's stored versions in the
	// preview language, newest first.
	Versions []privacy.Notice
}

func privacyFormOf(p privacy.Profile) privacyForm {
	return privacyForm{LegalName: p.LegalName, Address: p.Address, DPOName: p.DPOName, DPOEmail: p.DPOEmail,
		PolicyURL: p.PolicyURL, RetentionMonths: strconv.Itoa(p.RetentionMonths), Authority: p.Authority,
		BrandColor: p.BrandColor, HasLogo: len(p.Logo) > 0, Complete: p.Complete(), Errs: formErrors{}}
}

// fill adds what the page shows beside the form: the preview of the
// notice in the chosen language, generated from p without storing it.
func (s *Server) fillPrivacyForm(ctx context.Context, f *privacyForm, rc *reqCtx, p privacy.Profile, lang string) {
	if !i18n.Supported(lang) {
		lang = rc.lang
	}
	f.PreviewLang = lang
	text, _ := s.Notices.Generate(privacy.KindInformation, lang, p, rc.tenant.Name)
	f.Preview = privacy.Notice{Kind: privacy.KindInformation, Lang: lang, Text: text}
	for _, l := range i18n.Languages {
		f.Languages = append(f.Languages, langItem{Code: l, Name: i18n.Names[l], Current: l == lang})
	}
	f.NoticeURL = "/legal/" + rc.tenant.ID + "/notice"
	f.TermsURL = "/legal/" + rc.tenant.ID + "/publication"
	f.Min, f.Max = privacy.MinRetentionMonths, privacy.MaxRetentionMonths
	f.TenantName = rc.tenant.Name
	f.Versions, _ = s.Notices.Versions(ctx, rc.tenant.ID, privacy.KindInformation, lang, 10)
	if f.HasLogo {
		f.LogoURL = logoURL(p)
	}
}

// logoURL is where a profile's logo is served; the version changes with
// each save so that browsers may keep it long.
func logoURL(p privacy.Profile) string {
	return "/brand/" + p.TenantID + "/logo?v=" + strconv.FormatInt(db.Stamp(p.UpdatedAt), 36)
}

func (s *Server) privacyPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	p, err := s.Notices.Profile(r.Context(), rc.tenant.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := privacyFormOf(p)
	f.Saved = !p.UpdatedAt.IsZero()
	s.fillPrivacyForm(r.Context(), &f, rc, p, r.URL.Query().Get("preview"))
	s.render(w, r, rc, http.StatusOK, "privacy_settings", &view{Title: rc.t(s, "Privacy and branding"), Data: f})
}

// privacySave saves the profile, or, with action=preview, shows the notice
// the form would give without saving. Problems are shown next to their
// fields.
func (s *Server) privacySave(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	ctx := r.Context()
	cur, err := s.Notices.Profile(ctx, rc.tenant.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := cur
	p.LegalName, p.Address = r.PostFormValue("legal_name"), r.PostFormValue("address")
	p.DPOName, p.DPOEmail, p.PolicyURL = r.PostFormValue("dpo_name"), r.PostFormValue("dpo_email"), r.PostFormValue("policy_url")
	p.Authority, p.BrandColor = r.PostFormValue("authority"), r.PostFormValue("brand_color")
	months := strings.TrimSpace(r.PostFormValue("retention_months"))
	p.RetentionMonths, err = strconv.Atoi(months)
	if err != nil {
		p.RetentionMonths = -1 // refused by Validate with the allowed range
	}
	errs := formErrors{}
	if r.PostFormValue("logo_remove") != "" {
		p.Logo, p.LogoType = nil, ""
	}
	if file, _, ferr := r.FormFile("logo"); ferr == nil {
		b, rerr := io.ReadAll(io.LimitReader(file, privacy.MaxLogoBytes+1))
		file.Close()
		if rerr != nil {
			s.fail(w, r, fmt.Errorf("read logo: %w", rerr))
			return
		}
		if len(b) > 0 {
			if typ, fe := privacy.CheckLogo(b); fe != nil {
				errs.add("p-logo", rc.t(s, fe.Msg, fe.Args...))
			} else {
				p.Logo, p.LogoType = b, typ
			}
		}
	}
	p.Normalize()
	var verr privacy.ProfileErrors
	if err := p.Validate(); errors.As(err, &verr) {
		for _, fe := range verr {
			errs.add("p-"+fe.Field, rc.t(s, fe.Msg, fe.Args...))
		}
	}
	preview := r.PostFormValue("action") == "preview"
	if len(errs) == 0 && !preview {
		saved, err := s.Notices.SaveProfile(ctx, rc.actor(), p)
		if errors.As(err, &verr) {
			for _, fe := range verr {
				errs.add("p-"+fe.Field, rc.t(s, fe.Msg, fe.Args...))
			}
		} else if err != nil {
			s.fail(w, r, err)
			return
		} else {
			f := privacyFormOf(saved)
			f.Saved = true
			s.fillPrivacyForm(r.Context(), &f, rc, saved, r.PostFormValue("preview_lang"))
			s.render(w, r, rc, http.StatusOK, "privacy_settings", &view{Title: rc.t(s, "Privacy and branding"),
				Flash: rc.t(s, "Saved. The notice your customers see now follows this profile."), Data: f})
			return
		}
	}
	f := privacyFormOf(p)
	f.RetentionMonths = months
	f.Errs = errs
	// A draft with problems is not previewed: the saved profile's notice
	// stays on show. The logo shown is the saved one either way.
	shown := p
	if len(errs) > 0 {
		shown = cur
	}
	s.fillPrivacyForm(r.Context(), &f, rc, shown, r.PostFormValue("preview_lang"))
	f.HasLogo, f.LogoURL, f.Saved, f.Complete = false, "", !cur.UpdatedAt.IsZero(), cur.Complete()
	if len(cur.Logo) > 0 {
		f.HasLogo, f.LogoURL = true, logoURL(cur)
	}
	status, v := http.StatusOK, &view{Title: rc.t(s, "Privacy and branding"), Data: f}
	if len(errs) > 0 {
		status = http.StatusUnprocessableEntity
		v.Error = rc.t(s, "The profile was not saved: correct the fields marked below.")
	} else {
		v.Flash = rc.t(s, "Preview of the notice with these settings; they are not saved yet.")
	}
	s.render(w, r, rc, status, "privacy_settings", v)
}

// legalData is what the public notice and publication pages show.
type legalData struct {
	Notice  privacy.Notice
	Current bool
	Other   string // the other text's page (notice ↔ publication)
	Self    string // this page's current version
}

// legalPage shows a tenant's current information notice or publication
// terms in the reader's language, or with ?v= a past version exactly as it
// was. It sets no cookie.
func (s *Server) legalPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	tenantID := r.PathValue("tenant")
	kind, title := privacy.KindInformation, "Information notice"
	page, other := "notice", "publication"
	if strings.HasSuffix(r.URL.Path, "/publication") {
		kind, title = privacy.KindPublication, "How reviews are published"
		page, other = "publication", "notice"
	}
	if !db.ValidID(tenantID) {
		s.publicNotFound(w, r, title)
		return
	}
	var n privacy.Notice
	var err error
	current := true
	if v := r.URL.Query().Get("v"); v != "" {
		current = false
		if !db.ValidID(v) {
			s.publicNotFound(w, r, title)
			return
		}
		n, err = s.Notices.ByID(ctx, tenantID, v)
		if err == nil && n.Kind != kind {
			err = db.ErrNotFound
		}
	} else {
		n, err = s.Notices.Current(ctx, tenantID, kind, publicLang(r, ""))
	}
	if errors.Is(err, db.ErrNotFound) {
		s.publicNotFound(w, r, title)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// A past version is shown in its own language; the menu's other
	// languages lead to the current version in that language.
	lang := n.Lang
	if current {
		lang = ""
	}
	d := legalData{Notice: n, Current: current, Other: "/legal/" + tenantID + "/" + other,
		Self: "/legal/" + tenantID + "/" + page + "?lang=" + n.Lang}
	s.publicPage(w, r, http.StatusOK, "public_notice", publicOpts{Title: title, Lang: lang, Brand: s.brandFor(ctx, tenantID)}, d)
}

// publicNotFound answers an unknown tenant or version with a public page.
func (s *Server) publicNotFound(w http.ResponseWriter, r *http.Request, title string) {
	s.publicPage(w, r, http.StatusNotFound, "public_notice", publicOpts{Title: title}, legalData{})
}

// brandLogo serves a tenant's logo as stored, with its own media type.
func (s *Server) brandLogo(w http.ResponseWriter, r *http.Request) {
	tenantID := r.PathValue("tenant")
	if !db.ValidID(tenantID) {
		http.NotFound(w, r)
		return
	}
	p, err := s.Notices.Profile(r.Context(), tenantID)
	if errors.Is(err, db.ErrNotFound) || (err == nil && len(p.Logo) == 0) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", p.LogoType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "public, max-age=86400")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("ETag", `"`+privacy.Hash(string(p.Logo))[:32]+`"`)
	if match := r.Header.Get("If-None-Match"); match != "" && match == h.Get("ETag") {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(p.Logo)))
	w.Write(p.Logo)
}

// brandStyle serves the small stylesheet that gives a tenant's public
// pages its colour. The colour was validated (#rrggbb) when saved.
func (s *Server) brandStyle(w http.ResponseWriter, r *http.Request) {
	tenantID := r.PathValue("tenant")
	if !db.ValidID(tenantID) {
		http.NotFound(w, r)
		return
	}
	p, err := s.Notices.Brand(r.Context(), tenantID)
	if errors.Is(err, db.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/css; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "public, max-age=3600")
	if _, err := privacy.ParseColor(p.BrandColor); err != nil {
		w.Write([]byte("/* no brand colour */\n"))
		return
	}
	fmt.Fprintf(w, ":root { --brand: %s; --brand-ink: %s; }\n", p.BrandColor, privacy.InkOn(p.BrandColor))
}
