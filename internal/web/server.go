// Package web is avis's HTTP face: the admin UI, the public pages, the REST
// API and the operations endpoints. Handlers are thin: decode, validate,
// call a feature package, respond. They never write SQL.
package web

import (
	"context"
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/config"
	"avis/internal/contact"
	"avis/internal/crmsync"
	"avis/internal/db"
	"avis/internal/dispatch"
	"avis/internal/feed"
	"avis/internal/i18n"
	"avis/internal/idempotency"
	"avis/internal/journey"
	"avis/internal/privacy"
	"avis/internal/response"
	"avis/internal/survey"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Deps is everything the web layer needs, passed in by main.
type Deps struct {
	Config   config.Config
	Log      *slog.Logger
	DB       *db.DB
	Accounts *account.Store
	Audit    *audit.Log
	Contacts *contact.Store
	Journeys *journey.Store
	Uploads  *contact.Uploads
	SFTP     *crmsync.Store
	Exports  *crmsync.ExportStore // scheduled exports to SFTP/FTPS
	Webhooks *crmsync.Webhooks    // webhook endpoints and their deliveries
	// Surveys holds survey definitions; Dispatch rules, invitations,
	// messaging settings and the outbox.
	Surveys  *survey.Store
	Dispatch *dispatch.Store
	// Notices holds tenants' privacy profiles and information notices.
	Notices *privacy.Notices
	// Responses keeps the answers to surveys; Consents is the consent ledger.
	Responses *response.Store
	Consents  *privacy.Consents
	// Jobs enqueues background work (imports of uploads).
	Jobs contact.Enqueuer
	// Requests is the tenants' data-subject request log.
	Requests *privacy.Requests
	// Feed orders what the CRM reads back and carries webhook events.
	Feed *feed.Feed
	// Registry collects the metrics that /metrics shows.
	Registry *prometheus.Registry
	Version  string
	// OpsOnly serves only /healthz, /readyz and /metrics (role worker).
	OpsOnly bool
}

// Server serves every HTTP route of avis.
type Server struct {
	Deps
	cat      *i18n.Catalogs
	pages    *pages
	handler  http.Handler
	latency  *prometheus.HistogramVec
	patterns []string
	meLimits meLimiter
	// apiLim and idem are the REST API's rate limits and idempotency records.
	apiLim *apiLimiter
	idem   *idempotency.Store
}

// recordingMux is a ServeMux that remembers the patterns given to it.
type recordingMux struct {
	*http.ServeMux
	s *Server
}

func (m *recordingMux) Handle(p string, h http.Handler) {
	m.s.patterns = append(m.s.patterns, p)
	m.ServeMux.Handle(p, h)
}

func (m *recordingMux) HandleFunc(p string, h func(http.ResponseWriter, *http.Request)) {
	m.Handle(p, http.HandlerFunc(h))
}

// New builds the server and its routes.
func New(d Deps) (*Server, error) {
	s := &Server{Deps: d, cat: i18n.MustLoad()}
	var err error
	if s.pages, err = loadPages(s.cat); err != nil {
		return nil, err
	}
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "avis_http_request_duration_seconds",
		Help:    "Time to answer an HTTP request, by route pattern, method and status class.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"route", "method", "code"})
	if d.Registry != nil {
		if err := d.Registry.Register(s.latency); err != nil {
			return nil, err
		}
	}
	s.apiLim, s.idem = newAPILimiter(d.Config.APIRate, d.Config.APIBurst), idempotency.New(d.DB)
	s.handler = s.routes()
	return s, nil
}

// ServeHTTP makes Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Routes lists the route patterns the server answers, for tests that must
// cover every route.
func Routes() []string {
	s := &Server{}
	s.routes()
	return s.patterns
}

func (s *Server) routes() http.Handler {
	mux := &recordingMux{ServeMux: http.NewServeMux(), s: s}
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheForever(http.FileServerFS(static))))

	// Operations.
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	if s.Registry != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{}))
	}
	if s.OpsOnly {
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "this avis process is a worker: it serves /healthz, /readyz and /metrics only", http.StatusNotFound)
		})
		return s.observe(s.secure(mux))
	}

	// Logging in and out.
	mux.HandleFunc("GET /login", s.loginForm)
	mux.HandleFunc("POST /login", s.loginSubmit)
	mux.Handle("GET /login/mfa", s.authed(s.mfaForm, authOpts{preMFA: true, noTenant: true}))
	mux.Handle("POST /login/mfa", s.authed(s.mfaSubmit, authOpts{preMFA: true, noTenant: true}))
	mux.Handle("POST /logout", s.authed(s.logout, authOpts{preMFA: true, noTenant: true}))
	mux.Handle("GET /tenants", s.authed(s.tenantPicker, authOpts{noTenant: true}))
	mux.Handle("POST /tenants/switch", s.authed(s.tenantSwitch, authOpts{noTenant: true}))
	mux.HandleFunc("POST /lang", s.setLanguage)

	// Admin UI, each route with the permission it needs (deny by default).
	mux.Handle("GET /{$}", s.authed(s.home, authOpts{perm: account.PermResultsRead}))
	mux.Handle("GET /users", s.authed(s.usersPage, authOpts{perm: account.PermUsersManage}))
	mux.Handle("POST /users", s.authed(s.userCreate, authOpts{perm: account.PermUsersManage}))
	mux.Handle("POST /users/{id}/role", s.authed(s.userRole, authOpts{perm: account.PermUsersManage}))
	mux.Handle("POST /users/{id}/remove", s.authed(s.userRemove, authOpts{perm: account.PermUsersManage}))
	mux.Handle("GET /apikeys", s.authed(s.apiKeysPage, authOpts{perm: account.PermAPIKeysManage}))
	mux.Handle("POST /apikeys", s.authed(s.apiKeyCreate, authOpts{perm: account.PermAPIKeysManage}))
	mux.Handle("POST /apikeys/{id}/revoke", s.authed(s.apiKeyRevoke, authOpts{perm: account.PermAPIKeysManage}))
	mux.Handle("GET /audit", s.authed(s.auditPage, authOpts{perm: account.PermAuditRead}))
	mux.Handle("GET /contacts", s.authed(s.contactsPage, authOpts{perm: account.PermContactsRead}))
	mux.Handle("GET /contacts/{id}", s.authed(s.contactPage, authOpts{perm: account.PermContactsRead}))
	mux.Handle("POST /contacts/{id}/erase", s.authed(s.contactErase, authOpts{perm: account.PermContactsWrite}))
	mux.Handle("POST /contacts/{id}/restrict", s.authed(s.contactRestrict, authOpts{perm: account.PermContactsWrite}))
	mux.Handle("GET /imports", s.authed(s.importsPage, authOpts{perm: account.PermContactsRead}))
	mux.Handle("POST /imports/upload", s.authed(s.importUpload, authOpts{perm: account.PermContactsWrite, multipart: true}))
	mux.Handle("GET /imports/{id}", s.authed(s.importPage, authOpts{perm: account.PermContactsRead}))
	mux.Handle("GET /imports/{id}/report.csv", s.authed(s.importReport, authOpts{perm: account.PermContactsRead}))
	// The preview of an upload is not under /imports/: "GET
	// /imports/uploads/{id}" would conflict with "GET /imports/{id}/report.csv".
	mux.Handle("GET /uploads/{id}", s.authed(s.uploadPreview, authOpts{perm: account.PermContactsWrite}))
	mux.Handle("POST /uploads/{id}/run", s.authed(s.uploadRun, authOpts{perm: account.PermContactsWrite}))
	mux.Handle("GET /journeys", s.authed(s.journeysPage, authOpts{perm: account.PermContactsRead}))
	mux.Handle("POST /journeys", s.authed(s.journeyCreate, authOpts{perm: account.PermContactsWrite}))
	mux.Handle("POST /journeys/{id}/steps", s.authed(s.journeyAddStep, authOpts{perm: account.PermContactsWrite}))
	mux.Handle("GET /sftp", s.authed(s.sftpPage, authOpts{perm: account.PermContactsWrite}))
	mux.Handle("POST /sftp", s.authed(s.sftpCreate, authOpts{perm: account.PermContactsWrite}))
	mux.Handle("POST /sftp/hostkey", s.authed(s.sftpHostKey, authOpts{perm: account.PermContactsWrite}))
	mux.Handle("POST /sftp/{id}/delete", s.authed(s.sftpDelete, authOpts{perm: account.PermContactsWrite}))
	mux.Handle("POST /sftp/{id}/fetch", s.authed(s.sftpFetch, authOpts{perm: account.PermContactsWrite}))
	mux.Handle("GET /exports", s.authed(s.exportsPage, authOpts{perm: account.PermTenantSettings}))
	mux.Handle("POST /exports", s.authed(s.exportCreate, authOpts{perm: account.PermTenantSettings}))
	mux.Handle("GET /exports/{id}", s.authed(s.exportEdit, authOpts{perm: account.PermTenantSettings}))
	mux.Handle("POST /exports/{id}", s.authed(s.exportUpdate, authOpts{perm: account.PermTenantSettings}))
	mux.Handle("POST /exports/{id}/delete", s.authed(s.exportDelete, authOpts{perm: account.PermTenantSettings}))
	mux.Handle("POST /exports/{id}/run", s.authed(s.exportRun, authOpts{perm: account.PermTenantSettings}))
	mux.Handle("POST /exports/{id}/test", s.authed(s.exportTest, authOpts{perm: account.PermTenantSettings}))
	mux.Handle("GET /settings", s.authed(s.settingsPage, authOpts{perm: account.PermTenantSettings}))
	mux.Handle("POST /settings/mfa", s.authed(s.settingsMFA, authOpts{perm: account.PermTenantSettings}))
	mux.Handle("GET /account/mfa", s.authed(s.mfaSetupPage, authOpts{noTenant: true, setup: true}))
	mux.Handle("POST /account/mfa", s.authed(s.mfaSetupConfirm, authOpts{noTenant: true, setup: true}))

	// REST API.
	s.surveyRoutes(mux)
	s.dispatchRoutes(mux)
	s.webhookRoutes(mux)
	s.surveyPageRoutes(mux)
	s.privacyRoutes(mux)
	s.meRoutes(mux)
	mux.HandleFunc("GET /api/v1/openapi.json", s.openAPI)
	mux.Handle("GET /api/v1/me", s.api(s.apiMe, ""))
	mux.Handle("GET /api/v1/contacts", s.api(s.apiContacts, "contacts:read"))
	mux.Handle("GET /api/v1/contacts/{id}", s.api(s.apiContact, "contacts:read"))
	mux.Handle("POST /api/v1/contacts", s.api(s.apiContactsCreate, "contacts:write"))
	mux.Handle("POST /api/v1/events", s.api(s.apiEventsCreate, "events:write"))
	s.pullRoutes(mux)
	mux.Handle("DELETE /api/v1/subjects/{external_id}", s.api(s.apiSubjectErase, "subjects:write"))
	mux.HandleFunc("GET /api/docs", s.apiDocs)
	mux.Handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { problem(w, errNotFound) }))

	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { s.fail(w, r, errNotFound) })
	return s.observe(s.secure(mux))
}

func cacheForever(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := s.DB.Ping(ctx); err != nil {
		s.Log.Warn("readyz: database not reachable", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("database not reachable\n"))
		return
	}
	if err := s.DB.SchemaCurrent(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(err.Error() + "\n"))
		return
	}
	w.Write([]byte("ready\n"))
}
