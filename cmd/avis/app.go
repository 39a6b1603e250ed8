package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"

	"golang.org/x/term"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/channel/email"
	"avis/internal/config"
	"avis/internal/contact"
	"avis/internal/crmsync"
	"avis/internal/db"
	"avis/internal/dispatch"
	"avis/internal/feed"
	"avis/internal/journey"
	"avis/internal/privacy"
	"avis/internal/response"
	"avis/internal/survey"
	"avis/internal/vault"
)

// app is an opened avis: configuration, database, vault and stores.
type app struct {
	cfg      config.Config
	log      *slog.Logger
	db       *db.DB
	vault    *vault.Vault
	audit    *audit.Log
	accounts *account.Store
	contacts *contact.Store
	journeys *journey.Store
	uploads  *contact.Uploads
	sftp     *crmsync.Store
	exports  *crmsync.ExportStore
	webhooks *crmsync.Webhooks
	surveys  *survey.Store
	dispatch *dispatch.Store
	// requests is the data-subject request log.
	requests *privacy.Requests
	notices  *privacy.Notices
	smtp     *email.SMTP
	// keyCreated is true when this start created the master key.
	keyCreated bool
	keyPath    string

	// responses keeps the answers; consents is the consent ledger.
	responses *response.Store
	consents  *privacy.Consents
	// feed orders the changes the CRM reads back and carries the webhook
	// events.
	feed *feed.Feed
}

func (a *app) Close() {
	if a.smtp != nil {
		a.smtp.Close()
	}
	if a.db != nil {
		a.db.Close()
	}
}

// loadConfig parses a command's flags over the environment.
// allowArgs lets positional arguments through (avis import contacts FILE).
func loadConfig(e env, name string, args []string, extra func(*flag.FlagSet), allowArgs ...bool) (config.Config, *flag.FlagSet, error) {
	fs := flag.NewFlagSet("avis "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	if extra != nil {
		extra(fs)
	}
	c, err := config.Load(fs, args, e.getenv)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, fs, err
		}
		return c, fs, fmt.Errorf("configuration: %w", err)
	}
	if fs.NArg() > 0 && len(allowArgs) == 0 {
		return c, fs, usageError{fmt.Sprintf("unexpected argument %q (flags go before nothing else; see avis help)", fs.Arg(0))}
	}
	return c, fs, nil
}

// newLogger makes the process logger: text on a terminal, JSON otherwise.
func newLogger(c config.Config, w io.Writer) *slog.Logger {
	level := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}[c.LogLevel]
	opts := &slog.HandlerOptions{Level: level}
	format := c.LogFormat
	if format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			format = "text"
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// open opens the database, brings its schema up to date, loads the master
// key and opens the vault and the stores.
func open(ctx context.Context, e env, c config.Config) (*app, error) {
	a := &app{cfg: c, log: newLogger(c, e.stderr)}
	d, err := db.Open(ctx, c.DatabaseURL, c.Data, db.Options{MaxConns: c.DBMaxConns})
	if err != nil {
		return nil, err
	}
	a.db = d
	existed := hasData(ctx, d)
	if err := d.Migrate(ctx); err != nil {
		a.Close()
		return nil, err
	}
	if err := os.MkdirAll(c.Data, 0o700); err != nil {
		a.Close()
		return nil, fmt.Errorf("cannot create data directory %s: %w", c.Data, err)
	}
	key, created, err := vault.LoadMasterKey(vault.KeyOptions{DataDir: c.Data, KeyFile: c.MasterKeyFile, KeyEnv: c.MasterKey, DataExists: existed})
	if err != nil {
		a.Close()
		return nil, err
	}
	a.keyCreated = created
	a.keyPath = filepath.Join(c.Data, "master.key")
	if a.vault, err = vault.New(ctx, d, key); err != nil {
		a.Close()
		return nil, err
	}
	clear(key)
	a.audit = audit.New(d)
	a.accounts = account.NewStore(d, a.vault, a.audit, account.Options{SessionTTL: c.SessionTTL, MaxFailures: c.LoginMaxFails})
	a.feed = feed.New(d)
	a.contacts = contact.NewStore(d, a.vault, a.audit)
	a.contacts.UseFeed(a.feed)
	a.journeys = journey.NewStore(d, a.audit)
	a.sftp = crmsync.NewStore(d, a.vault, a.audit)
	a.exports = crmsync.NewExportStore(d, a.vault, a.audit, a.contacts)
	a.surveys = survey.NewStore(d, a.audit)
	a.notices = privacy.NewNotices(d, a.audit, operator(c))
	a.consents = privacy.NewConsents(d)
	a.responses = response.NewStore(d, a.vault, a.audit, a.consents, a.log, response.Options{Feed: a.feed})
	a.contacts.OnErase(a.responses.ForgetContact)
	if err := a.openDispatch(); err != nil {
		a.Close()
		return nil, err
	}
	a.requests = privacy.NewRequests(d, a.audit)
	a.contacts.OnErase(a.dispatch.ForgetContact)
	a.contacts.OnErase(privacy.ForgetAccess)
	a.webhooks = crmsync.OpenWebhooks(d, a.vault, a.audit, a.feed, crmsync.WebhookOptions{AllowPrivate: c.WebhookPrivate, AllowHTTP: c.WebhookHTTP, Log: a.log, Data: crmsync.StoreData{Responses: a.responses, Invitations: a.dispatch, Contacts: a.contacts, Journeys: a.journeys, DB: d}, Notify: crmsync.MailNotifier{Accounts: a.accounts, SMTP: a.smtp, From: c.MailFrom, BaseURL: c.BaseURL}})
	if a.uploads, err = contact.NewUploads(filepath.Join(c.Data, "uploads"), a.vault); err != nil {
		a.Close()
		return nil, err
	}
	if created {
		a.log.Warn("A NEW MASTER KEY WAS CREATED. Back it up now, apart from the database: without it no personal data can ever be read again.", "file", a.keyPath)
		fmt.Fprintf(e.stderr, "\n*** avis created a new master key in %s\n*** BACK IT UP NOW, somewhere other than the database backups.\n*** Without it, the personal data in this database can never be read again.\n\n", a.keyPath)
	}
	return a, nil
}

// operator is who runs this server, as the privacy notices name it.
func operator(c config.Config) privacy.Operator {
	op := privacy.Operator{Name: c.OperatorName, Address: c.OperatorAddress, Email: c.OperatorEmail}
	if u, err := url.Parse(c.BaseURL); err == nil {
		op.Site = u.Hostname()
	}
	return op
}

// hasData reports whether the database already holds avis data (a sealed
// key or a tenant), in which case a master key must never be made anew.
func hasData(ctx context.Context, d *db.DB) bool {
	for _, q := range []string{`SELECT count(*) FROM vault_state`, `SELECT count(*) FROM tenants`} {
		var n int
		if err := d.R.QueryRowContext(ctx, q).Scan(&n); err == nil && n > 0 {
			return true
		}
	}
	return false
}

// tempDir is where files are spooled while imported (XLSX): inside the data
// directory, mode 0700.
func (a *app) tempDir() string {
	d := filepath.Join(a.cfg.Data, "tmp")
	os.MkdirAll(d, 0o700)
	return d
}

// tenant finds a tenant by slug, with an error that says what to do.
func (a *app) tenant(ctx context.Context, slug string) (account.Tenant, error) {
	t, err := a.accounts.TenantBySlug(ctx, slug)
	if errors.Is(err, db.ErrNotFound) {
		return t, fmt.Errorf("no tenant %q: create it first with avis tenant create", slug)
	}
	return t, err
}

// openDispatch builds the invitation store and its ways out: the SMTP relay
// of AVIS_SMTP_URL (none: the outbox), tenants' own relays, and the outbox
// for everything in demo mode.
func (a *app) openDispatch() error {
	c := a.cfg
	t := dispatch.Transports{From: c.MailFrom, Relay: func(u string) (dispatch.EmailTransport, error) {
		r, err := email.ParseRelayURL(u)
		if err != nil {
			return nil, err
		}
		s, err := email.NewSMTP(r, email.Options{Logger: a.log})
		if err != nil {
			return nil, err
		}
		return dispatch.SMTPTransport{SMTP: s}, nil
	}}
	if c.SMTPURL != "" {
		r, err := email.ParseRelayURL(c.SMTPURL)
		if err != nil {
			return fmt.Errorf("AVIS_SMTP_URL: %w", err)
		}
		if a.smtp, err = email.NewSMTP(r, email.Options{Logger: a.log}); err != nil {
			return fmt.Errorf("AVIS_SMTP_URL: %w", err)
		}
		t.Email = dispatch.SMTPTransport{SMTP: a.smtp}
	}
	a.dispatch = dispatch.NewStore(a.db, a.vault, a.audit, a.contacts, a.accounts, a.log,
		dispatch.Options{BaseURL: c.BaseURL, Transports: t, Outbox: c.Demo, TenantRate: c.TenantSendRate, Feed: a.feed})
	return nil
}
