package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/db"
	"avis/internal/i18n"
)

const (
	sessionCookie = "avis_session"
	csrfCookie    = "avis_csrf"
	langCookie    = "avis_lang"
)

// reqCtx is what the authentication middleware learnt about a request.
type reqCtx struct {
	token  string
	sess   *account.Session
	tenant account.Tenant
	role   account.Role
	lang   string
	csrf   string
}

func (rc *reqCtx) actor() audit.Actor { return audit.Actor{Kind: audit.ActorUser, ID: rc.sess.UserID} }

type ctxKey struct{}

func reqCtxFrom(r *http.Request) *reqCtx {
	rc, _ := r.Context().Value(ctxKey{}).(*reqCtx)
	return rc
}

// authOpts says what a route needs.
type authOpts struct {
	perm     account.Permission // the permission the role must grant; required unless noTenant
	preMFA   bool               // reachable before the second factor is given
	noTenant bool               // reachable without a chosen tenant
	setup    bool               // the second-factor set-up pages, reachable while set-up is required
	// multipart: the handler reads a multipart body and checks the CSRF
	// token itself (multipartCSRF), since reading it here would consume the
	// body. The Origin is still checked here.
	multipart bool
}

type handler func(w http.ResponseWriter, r *http.Request, rc *reqCtx)

// authed wraps a handler with the session, CSRF and role checks. It denies
// by default: a route without noTenant must name a permission.
func (s *Server) authed(h handler, o authOpts) http.Handler {
	if !o.noTenant && o.perm == "" {
		panic("web: route needs a permission")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		c, err := r.Cookie(sessionCookie)
		if err != nil || c.Value == "" {
			s.toLogin(w, r)
			return
		}
		sess, err := s.Accounts.Session(ctx, c.Value)
		if err != nil {
			if !errors.Is(err, account.ErrSessionExpired) {
				s.fail(w, r, fmt.Errorf("load session: %w", err))
				return
			}
			s.clearCookie(w, sessionCookie)
			s.toLogin(w, r)
			return
		}
		rc := &reqCtx{token: c.Value, sess: &sess, csrf: sess.CSRFToken}
		rc.lang = s.lang(r, "")
		r = r.WithContext(context.WithValue(ctx, ctxKey{}, rc))
		if r.Method == http.MethodPost && o.multipart && !s.originOK(r) {
			s.fail(w, r, errCSRF)
			return
		}
		if r.Method == http.MethodPost && !o.multipart && !s.csrfOK(r, sess.CSRFToken) {
			s.fail(w, r, errCSRF)
			return
		}
		if !sess.MFAOK && !o.preMFA {
			http.Redirect(w, r, "/login/mfa", http.StatusSeeOther)
			return
		}
		if sess.TenantID != "" {
			t, err := s.Accounts.TenantByID(ctx, sess.TenantID)
			role, rerr := s.Accounts.RoleOf(ctx, sess.TenantID, sess.UserID)
			switch {
			case err == nil && rerr == nil:
				rc.tenant, rc.role = t, role
			case errors.Is(err, db.ErrNotFound) || errors.Is(rerr, db.ErrNotFound):
				// Removed from the tenant since: choose again.
			default:
				s.fail(w, r, errors.Join(err, rerr))
				return
			}
			if rc.tenant.RequireMFA && sess.MFAOK && !o.setup {
				on, err := s.Accounts.MFAEnabled(ctx, sess.UserID)
				if err != nil {
					s.fail(w, r, err)
					return
				}
				if !on {
					http.Redirect(w, r, "/account/mfa", http.StatusSeeOther)
					return
				}
			}
		}
		if !o.noTenant {
			if rc.tenant.ID == "" {
				http.Redirect(w, r, "/tenants", http.StatusSeeOther)
				return
			}
			if !rc.role.Can(o.perm) {
				_ = s.Audit.Record(ctx, nil, audit.Entry{TenantID: rc.tenant.ID, Actor: rc.actor(), Action: "authz.denied",
					ObjectKind: "route", ObjectID: r.Pattern, Detail: map[string]string{"role": string(rc.role)}})
				s.fail(w, r, errForbidden)
				return
			}
		}
		h(w, r, rc)
	})
}

// csrfOK checks the synchroniser token of a state-changing form and, when
// the browser sends one, that the Origin is avis's own.
func (s *Server) csrfOK(r *http.Request, want string) bool {
	return s.originOK(r) && tokenOK(r.PostFormValue("csrf"), want)
}

// originOK reports whether the request, when the browser names its Origin,
// comes from avis's own pages.
func (s *Server) originOK(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		base, _ := url.Parse(s.Config.BaseURL)
		if err != nil || (u.Host != r.Host && (base == nil || u.Host != base.Host)) {
			return false
		}
	}
	return true
}

// tokenOK compares a form's CSRF token with the session's in constant time.
func tokenOK(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func (s *Server) toLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		s.fail(w, r, errCSRF)
		return
	}
	http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
}

func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true,
		Secure: s.Config.SecureCookies(), SameSite: http.SameSiteLaxMode, MaxAge: int(maxAge.Seconds())})
}

func (s *Server) clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", HttpOnly: true,
		Secure: s.Config.SecureCookies(), SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// loginCSRF returns the pre-session CSRF token (double-submit cookie) that
// the middleware placed on a request without a session.
func loginCSRF(r *http.Request) string {
	if v, ok := r.Context().Value(csrfKey{}).(string); ok {
		return v
	}
	if c, err := r.Cookie(csrfCookie); err == nil {
		return c.Value
	}
	return ""
}

type csrfKey struct{}

// withLoginCSRF makes sure a request without a session carries a
// pre-session CSRF token, for the login and language forms.
func (s *Server) withLoginCSRF(w http.ResponseWriter, r *http.Request) *http.Request {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) == 43 {
		return r
	}
	tok := randomToken()
	s.setCookie(w, csrfCookie, tok, 24*time.Hour)
	return r.WithContext(context.WithValue(r.Context(), csrfKey{}, tok))
}

func (s *Server) loginCSRFOK(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	if err != nil || c.Value == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(c.Value)) == 1
}

// lang picks the page language: the cookie, then the browser's preference.
func (s *Server) lang(r *http.Request, fallback string) string {
	if c, err := r.Cookie(langCookie); err == nil && i18n.Supported(c.Value) {
		return c.Value
	}
	if fallback != "" {
		return fallback
	}
	return i18n.Match(r.Header.Get("Accept-Language"))
}

func (s *Server) setLanguage(w http.ResponseWriter, r *http.Request) {
	ok := s.loginCSRFOK(r)
	if c, err := r.Cookie(sessionCookie); err == nil && !ok {
		if sess, err := s.Accounts.Session(r.Context(), c.Value); err == nil {
			ok = s.csrfOK(r, sess.CSRFToken)
		}
	}
	if !ok {
		s.fail(w, r, errCSRF)
		return
	}
	if l := r.PostFormValue("lang"); i18n.Supported(l) {
		s.setCookie(w, langCookie, l, 365*24*time.Hour)
	}
	back := "/"
	if ref := r.Header.Get("Referer"); ref != "" {
		if u, err := url.Parse(ref); err == nil && u.Path != "" {
			back = u.Path
		}
	}
	http.Redirect(w, r, safeNext(back), http.StatusSeeOther)
}

// safeNext keeps a post-login redirect on avis: a local path only.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	return next
}

type loginData struct{ Email, Next string }

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	r = s.withLoginCSRF(w, r)
	s.render(w, r, nil, http.StatusOK, "login", &view{Title: s.cat.T(s.lang(r, ""), "Sign in"),
		Data: loginData{Next: safeNext(r.URL.Query().Get("next"))}})
}

func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	lang := s.lang(r, "")
	if !s.loginCSRFOK(r) {
		r = s.withLoginCSRF(w, r)
		s.render(w, r, nil, http.StatusForbidden, "login", &view{Title: s.cat.T(lang, "Sign in"),
			Error: s.cat.T(lang, errCSRF.Message), Data: loginData{Next: safeNext(r.PostFormValue("next"))}})
		return
	}
	email, password := r.PostFormValue("email"), r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	again := func(status int, msg string) {
		s.render(w, r, nil, status, "login", &view{Title: s.cat.T(lang, "Sign in"), Error: msg,
			Data: loginData{Email: email, Next: next}})
	}
	u, err := s.Accounts.Authenticate(ctx, email, password, s.clientIP(r))
	var te *account.ThrottleError
	switch {
	case errors.As(err, &te):
		w.Header().Set("Retry-After", fmt.Sprint(int(te.RetryAfter.Seconds())+1))
		again(http.StatusTooManyRequests, s.cat.T(lang, "Too many failed attempts. Wait %d minutes and try again.", int(te.RetryAfter.Minutes())+1))
		return
	case errors.Is(err, account.ErrThrottled):
		again(http.StatusTooManyRequests, s.cat.T(lang, "Too many failed attempts. Wait %d minutes and try again.", 15))
		return
	case errors.Is(err, account.ErrBadCredentials):
		again(http.StatusUnauthorized, s.cat.T(lang, "Wrong email or password."))
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	ms, err := s.Accounts.Memberships(ctx, u.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	tenantID := ""
	if len(ms) == 1 {
		tenantID = ms[0].Tenant.ID
	}
	token, _, err := s.Accounts.CreateSession(ctx, u.ID, tenantID, !u.TOTPEnabled)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.setCookie(w, sessionCookie, token, 0)
	s.clearCookie(w, csrfCookie)
	if u.Language != "" && i18n.Supported(u.Language) {
		s.setCookie(w, langCookie, u.Language, 365*24*time.Hour)
	}
	switch {
	case u.TOTPEnabled:
		http.Redirect(w, r, "/login/mfa", http.StatusSeeOther)
	case tenantID == "":
		http.Redirect(w, r, "/tenants", http.StatusSeeOther)
	default:
		http.Redirect(w, r, next, http.StatusSeeOther)
	}
}

func (s *Server) mfaForm(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if rc.sess.MFAOK {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.render(w, r, rc, http.StatusOK, "mfa", &view{Title: rc.t(s, "Second factor")})
}

func (s *Server) mfaSubmit(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	code := strings.ReplaceAll(r.PostFormValue("code"), " ", "")
	err := s.Accounts.VerifyTOTP(r.Context(), rc.sess.UserID, code)
	if errors.Is(err, account.ErrBadTOTP) {
		s.render(w, r, rc, http.StatusUnauthorized, "mfa", &view{Title: rc.t(s, "Second factor"),
			Error: rc.t(s, "That code is not right or was already used. Wait for the next one and try again.")})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.Accounts.MarkMFA(r.Context(), rc.token); err != nil {
		s.fail(w, r, err)
		return
	}
	if rc.sess.TenantID == "" {
		http.Redirect(w, r, "/tenants", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if err := s.Accounts.DeleteSession(r.Context(), rc.token); err != nil {
		s.fail(w, r, err)
		return
	}
	s.clearCookie(w, sessionCookie)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

type tenantsData struct{ Memberships []account.Membership }

func (s *Server) tenantPicker(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	ms, err := s.Accounts.Memberships(r.Context(), rc.sess.UserID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, rc, http.StatusOK, "tenants", &view{Title: rc.t(s, "Choose an account"), Data: tenantsData{ms}})
}

func (s *Server) tenantSwitch(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id := r.PostFormValue("tenant")
	if _, err := s.Accounts.RoleOf(r.Context(), id, rc.sess.UserID); err != nil {
		if errors.Is(err, db.ErrNotFound) {
			s.fail(w, r, errNotFound)
			return
		}
		s.fail(w, r, err)
		return
	}
	if err := s.Accounts.SetSessionTenant(r.Context(), rc.token, id); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// t translates for the request's language.
func (rc *reqCtx) t(s *Server, msg string, args ...any) string { return s.cat.T(rc.lang, msg, args...) }
