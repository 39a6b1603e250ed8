package web_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/channel/email"
	"avis/internal/config"
	"avis/internal/contact"
	"avis/internal/crmsync"
	"avis/internal/db"
	"avis/internal/db/dbtest"
	"avis/internal/dispatch"
	"avis/internal/feed"
	"avis/internal/jobs"
	"avis/internal/journey"
	"avis/internal/privacy"
	"avis/internal/response"
	"avis/internal/survey"
	"avis/internal/vault"
	"avis/internal/web"
)

// syncBuffer is a log sink the test can read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// env is a running avis web server on a fresh database.
type env struct {
	t        *testing.T
	db       *db.DB
	accounts *account.Store
	contacts *contact.Store
	feed     *feed.Feed
	journeys *journey.Store
	uploads  *contact.Uploads
	sftp     *crmsync.Store
	exports  *crmsync.ExportStore
	webhooks *crmsync.Webhooks
	surveys  *survey.Store
	dispatch *dispatch.Store
	notices  *privacy.Notices
	jobs     *jobs.Queue
	audit    *audit.Log
	requests *privacy.Requests
	srv      *httptest.Server
	logs     *syncBuffer
	now      time.Time
	clockMu  sync.Mutex

	// The answers (flow 3).
	responses *response.Store
	consents  *privacy.Consents
}

const testPassword = "Lumière-du-matin-42"

func newEnv(t *testing.T) *env { return newEnvWith(t, nil) }

// newEnvWith is newEnv with a change to the configuration.
func newEnvWith(t *testing.T, change func(*config.Config)) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, db: dbtest.Open(t), logs: &syncBuffer{}, now: time.Now()}
	v, err := vault.New(ctx, e.db, bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	e.audit = audit.New(e.db)
	e.accounts = account.NewStore(e.db, v, e.audit, account.Options{
		Argon2Memory: 1024, Argon2Time: 1,
		Now: func() time.Time { e.clockMu.Lock(); defer e.clockMu.Unlock(); return e.now },
	})
	e.feed = feed.New(e.db)
	e.contacts = contact.NewStore(e.db, v, e.audit)
	e.contacts.UseFeed(e.feed)
	e.journeys = journey.NewStore(e.db, e.audit)
	cfg := config.Default()
	cfg.Data = t.TempDir()
	if change != nil {
		change(&cfg)
	}
	if e.uploads, err = contact.NewUploads(filepath.Join(cfg.Data, "uploads"), v); err != nil {
		t.Fatal(err)
	}
	e.sftp = crmsync.NewStore(e.db, v, e.audit)
	e.exports = crmsync.NewExportStore(e.db, v, e.audit, e.contacts)
	e.surveys = survey.NewStore(e.db, e.audit)
	e.notices = privacy.NewNotices(e.db, e.audit, privacy.Operator{Name: "Avis Hébergement SAS", Address: "1 rue de la Paix, 75002 Paris", Email: "dpo@avis.example", Site: "avis.example"})
	log := slog.New(slog.NewJSONHandler(e.logs, nil))
	e.consents = privacy.NewConsents(e.db)
	e.responses = response.NewStore(e.db, v, e.audit, e.consents, log, response.Options{Feed: e.feed})
	e.contacts.OnErase(e.responses.ForgetContact)
	// The job queue works imports and SFTP fetches as `avis serve` does
	// (cmd/avis/jobs.go).
	tmp := filepath.Join(cfg.Data, "tmp")
	ws := river.NewWorkers()
	river.AddWorker(ws, &contact.ImportWorker{Store: e.contacts, Uploads: e.uploads, TempDir: tmp})
	crmsync.AddWorkers(ws, e.sftp, sftpImporter{e.contacts, tmp})
	crmsync.AddExportWorkers(ws, e.exports)
	dopts := dispatch.Options{BaseURL: cfg.BaseURL, Feed: e.feed}
	if cfg.SMTPURL != "" {
		relay, err := email.ParseRelayURL(cfg.SMTPURL)
		if err != nil {
			t.Fatal(err)
		}
		smtp, err := email.NewSMTP(relay, email.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { smtp.Close() })
		dopts.Transports.Email = dispatch.SMTPTransport{SMTP: smtp}
	}
	e.dispatch = dispatch.NewStore(e.db, v, e.audit, e.contacts, e.accounts, log, dopts)
	dispatch.AddWorkers(ws, e.dispatch)
	e.webhooks = crmsync.OpenWebhooks(e.db, v, e.audit, e.feed, crmsync.WebhookOptions{AllowPrivate: true, AllowHTTP: true, Log: log, Backoff: []time.Duration{100 * time.Millisecond}, Data: crmsync.StoreData{Responses: e.responses, Invitations: e.dispatch, Contacts: e.contacts, Journeys: e.journeys, DB: e.db}})
	crmsync.AddWebhookWorkers(ws, e.webhooks)
	if e.jobs, err = jobs.New(e.db, log, ws, jobs.Options{Work: true, PollInterval: 50 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	e.dispatch.Queue = e.jobs
	e.webhooks.Queue = e.jobs
	e.requests = privacy.NewRequests(e.db, e.audit)
	e.contacts.OnErase(e.dispatch.ForgetContact)
	e.contacts.OnErase(privacy.ForgetAccess)
	if err := e.jobs.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := e.jobs.Stop(ctx); err != nil {
			t.Errorf("stop the job queue: %v", err)
		}
	})
	srv, err := web.New(web.Deps{Config: cfg, Log: log, DB: e.db,
		Accounts: e.accounts, Audit: e.audit, Contacts: e.contacts, Journeys: e.journeys,
		Responses: e.responses, Consents: e.consents,
		Exports: e.exports, Webhooks: e.webhooks,
		Uploads: e.uploads, SFTP: e.sftp, Surveys: e.surveys, Dispatch: e.dispatch, Notices: e.notices, Jobs: e.jobs, Requests: e.requests, Feed: e.feed, Registry: prometheus.NewRegistry(), Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(apiContract(t, srv))
	t.Cleanup(e.srv.Close)
	return e
}

// sftpImporter hands the files of an SFTP drop to the import engine, as
// cmd/avis does.
type sftpImporter struct {
	contacts *contact.Store
	tmp      string
}

func (i sftpImporter) ImportFile(ctx context.Context, tenantID, source, fileName string, r io.Reader) (crmsync.ImportResult, error) {
	id := strings.TrimPrefix(source, "sftp:")
	rep, csv, err := i.contacts.ImportFile(ctx, audit.System("sftp"), tenantID, contact.SourceRef{Kind: "sftp", ID: id, Name: fileName}, r, i.tmp)
	if err != nil {
		return crmsync.ImportResult{}, err
	}
	return crmsync.ImportResult{ImportID: rep.ImportID, OK: rep.Status == contact.StatusDone, ReportCSV: csv}, nil
}

func (e *env) advance(d time.Duration) {
	e.clockMu.Lock()
	e.now = e.now.Add(d)
	e.clockMu.Unlock()
}

// tenant makes a tenant with one user of the given role.
func (e *env) tenant(slug string, role account.Role) (account.Tenant, account.User) {
	e.t.Helper()
	ctx := context.Background()
	tn, err := e.accounts.CreateTenant(ctx, audit.System("test"), slug, "Company "+slug)
	if err != nil {
		e.t.Fatal(err)
	}
	u, err := e.accounts.CreateUser(ctx, audit.System("test"), tn.ID, slug+"-"+string(role)+"@example.com", "Person "+slug, testPassword, role)
	if err != nil {
		e.t.Fatal(err)
	}
	return tn, u
}

// browser is a cookie-keeping client that does not follow redirects.
type browser struct {
	e *env
	c *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type resp struct {
	status int
	body   string
	header http.Header
}

func (b *browser) do(method, path string, form url.Values, header ...string) resp {
	b.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.srv.URL+path, body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	r, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer r.Body.Close()
	all, _ := io.ReadAll(r.Body)
	return resp{r.StatusCode, string(all), r.Header}
}

func (b *browser) get(path string) resp { return b.do("GET", path, nil) }

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the form token from a page.
func (b *browser) csrf(path string) string {
	b.e.t.Helper()
	r := b.get(path)
	m := csrfRe.FindStringSubmatch(r.body)
	if m == nil {
		b.e.t.Fatalf("no CSRF token on %s (status %d)", path, r.status)
	}
	return m[1]
}

// post submits a form with the page's CSRF token.
func (b *browser) post(path string, form url.Values) resp {
	b.e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if form.Get("csrf") == "" {
		form.Set("csrf", b.csrf("/login"))
		if b.loggedIn() {
			form.Set("csrf", b.csrf("/tenants"))
		}
	}
	return b.do("POST", path, form)
}

func (b *browser) loggedIn() bool {
	u, _ := url.Parse(b.e.srv.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "avis_session" && c.Value != "" {
			return true
		}
	}
	return false
}

func (b *browser) login(email, password string) resp {
	b.e.t.Helper()
	return b.post("/login", url.Values{"email": {email}, "password": {password}})
}

func (e *env) loggedIn(email string) *browser {
	e.t.Helper()
	b := e.browser()
	if r := b.login(email, testPassword); r.status != http.StatusSeeOther {
		e.t.Fatalf("login %s: status %d\n%s", email, r.status, r.body)
	}
	return b
}

func regexpMust(s string) *regexp.Regexp { return regexp.MustCompile(s) }
