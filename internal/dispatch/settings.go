package dispatch

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"avis/internal/audit"
	"avis/internal/channel/email"
	"avis/internal/channel/sms"
	"avis/internal/db"
)

// settingsSubject is the vault subject under which a tenant's messaging
// secrets are sealed.
const settingsSubject = "messaging"

// Vault fields of the sealed settings.
const (
	fieldSMTP      = "smtp_url"
	fieldDKIM      = "dkim_key"
	fieldSMSConfig = "sms_config"
)

// Settings say how a tenant sends: its sender identity, its own SMTP relay
// (empty: the server's), its DKIM key, its SMS provider, the domain of its
// short links and its privacy notice.
type Settings struct {
	FromName  string
	FromEmail string
	ReplyTo   string
	// SMTPURL is the tenant's own relay (smtp://user:pass@host:port?tls=…);
	// empty uses the server's relay, or the outbox when there is none.
	SMTPURL      string
	DKIMDomain   string
	DKIMSelector string
	// DKIMKey is the PEM private key; DKIMKey nil with a domain means not
	// yet generated.
	DKIMKey []byte
	// SMSConfig is the JSON configuration of the tenant's SMS provider,
	// credentials included (see sms.Load); SMSProvider its name, set from it.
	SMSProvider string
	SMSConfig   []byte
	SMSSender   string
	// LinkBaseURL is the tenant's own domain for survey links
	// (https://avis.example.fr); empty uses avis's base URL.
	LinkBaseURL string
	UpdatedAt   time.Time
}

// ErrInvalidSettings wraps the validation errors of SaveSettings.
var ErrInvalidSettings = errors.New("invalid messaging settings")

// Validate checks the settings and says what to fix.
func (st *Settings) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidSettings}, args...)...))
	}
	if len(st.FromName) > 100 || strings.ContainsAny(st.FromName, "\r\n<>\"") {
		bad("the sender name has at most 100 characters and no line break, quote or angle bracket")
	}
	for _, a := range []struct{ name, v string }{{"sender address", st.FromEmail}, {"reply-to address", st.ReplyTo}} {
		if a.v == "" {
			continue
		}
		if p, err := mail.ParseAddress(a.v); err != nil || p.Address != a.v || p.Name != "" {
			bad("the %s must be a bare address such as avis@example.fr", a.name)
		}
	}
	if st.SMTPURL != "" {
		if _, err := email.ParseRelayURL(st.SMTPURL); err != nil {
			bad("SMTP relay: %v", err)
		}
	}
	if st.DKIMDomain != "" || st.DKIMSelector != "" {
		k := email.DKIMKey{Domain: st.DKIMDomain, Selector: st.DKIMSelector}
		if len(st.DKIMKey) > 0 {
			signer, err := email.ParseDKIMKey(st.DKIMKey)
			if err != nil {
				bad("DKIM key: %v", err)
			}
			k.Signer = signer
		}
		if k.Signer != nil {
			if err := k.Validate(); err != nil {
				bad("DKIM: %v", err)
			}
		}
	}
	if len(st.SMSConfig) > 0 {
		p, _, err := sms.Load(st.SMSConfig, sms.Deps{})
		if err != nil {
			bad("SMS provider: %v", err)
		} else {
			st.SMSProvider = p.Name()
		}
	}
	if len(st.SMSSender) > 16 {
		bad("the SMS sender is at most 11 letters or digits, or a phone number")
	}
	for _, u := range []struct{ name, v string }{{"link domain", st.LinkBaseURL}} {
		if u.v == "" {
			continue
		}
		p, err := url.Parse(u.v)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" || len(u.v) > 300 {
			bad("the %s must be a full https:// address", u.name)
		}
	}
	// Bytes no database column may hold (PostgreSQL refuses invalid UTF-8
	// and NUL) are said, not a failure of the save.
	for _, f := range []struct{ name, v string }{{"sender name", st.FromName}, {"sender address", st.FromEmail}, {"reply-to address", st.ReplyTo},
		{"DKIM domain", st.DKIMDomain}, {"DKIM selector", st.DKIMSelector}, {"SMS sender", st.SMSSender},
		{"link domain", st.LinkBaseURL}} {
		if !utf8.ValidString(f.v) || strings.ContainsFunc(f.v, unicode.IsControl) {
			bad("the %s holds control characters or bytes that are not UTF-8 text", f.name)
		}
	}
	return errors.Join(errs...)
}

// SettingsUpdate changes a tenant's settings. A nil secret keeps the one
// stored; an empty one removes it.
type SettingsUpdate struct {
	FromName, FromEmail, ReplyTo string
	SMTPURL                      *string
	DKIMDomain, DKIMSelector     string
	// GenerateDKIM makes a new key for the domain and selector.
	GenerateDKIM bool
	DKIMKind     email.KeyKind
	// SMSConfig is the provider's JSON configuration (see sms.Load).
	SMSConfig   *string
	SMSSender   string
	LinkBaseURL string
}

// Settings returns a tenant's messaging settings, secrets opened. A tenant
// that never saved any gets empty settings.
func (s *Store) Settings(ctx context.Context, tenantID string) (Settings, error) {
	return s.readSettings(ctx, s.db.R, tenantID)
}

func (s *Store) readSettings(ctx context.Context, q db.Querier, tenantID string) (Settings, error) {
	var st Settings
	var smtp, dkim, sms []byte
	var updated int64
	err := q.QueryRowContext(ctx, `/* dispatch.Store.Settings */ SELECT from_name, from_email, reply_to, smtp_url_sealed, dkim_domain,
		dkim_selector, dkim_key_sealed, sms_provider, sms_config_sealed, sms_sender, link_base_url, updated_at
		FROM messaging_settings WHERE tenant_id = $1`, tenantID).Scan(&st.FromName, &st.FromEmail, &st.ReplyTo, &smtp, &st.DKIMDomain,
		&st.DKIMSelector, &dkim, &st.SMSProvider, &sms, &st.SMSSender, &st.LinkBaseURL, &updated)
	if err = db.Translate(err); errors.Is(err, db.ErrNotFound) {
		return Settings{}, nil
	}
	if err != nil {
		return Settings{}, fmt.Errorf("messaging settings: %w", err)
	}
	st.UpdatedAt = db.Time(updated)
	if len(smtp) > 0 || len(dkim) > 0 || len(sms) > 0 {
		k, err := s.vault.Lookup(ctx, tenantID, settingsSubject)
		if err != nil {
			return Settings{}, fmt.Errorf("messaging settings: %w", err)
		}
		if st.SMTPURL, err = k.OpenString(fieldSMTP, smtp); err != nil {
			return Settings{}, fmt.Errorf("messaging settings: %w", err)
		}
		if len(dkim) > 0 {
			if st.DKIMKey, err = k.Open(fieldDKIM, dkim); err != nil {
				return Settings{}, fmt.Errorf("messaging settings: %w", err)
			}
		}
		if len(sms) > 0 {
			if st.SMSConfig, err = k.Open(fieldSMSConfig, sms); err != nil {
				return Settings{}, fmt.Errorf("messaging settings: %w", err)
			}
		}
	}
	return st, nil
}

// SaveSettings applies an update after validating the result. Secrets are
// sealed with the vault; the audit entry names what changed, never a value.
func (s *Store) SaveSettings(ctx context.Context, actor audit.Actor, tenantID string, u SettingsUpdate) (Settings, error) {
	var out Settings
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		st, err := s.readSettings(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		changed := []string{}
		st.FromName, st.FromEmail, st.ReplyTo = strings.TrimSpace(u.FromName), strings.TrimSpace(u.FromEmail), strings.TrimSpace(u.ReplyTo)
		if u.SMTPURL != nil && *u.SMTPURL != st.SMTPURL {
			st.SMTPURL = strings.TrimSpace(*u.SMTPURL)
			changed = append(changed, "smtp")
		}
		if u.DKIMDomain != st.DKIMDomain || u.DKIMSelector != st.DKIMSelector {
			changed = append(changed, "dkim_name")
		}
		st.DKIMDomain, st.DKIMSelector = strings.ToLower(strings.TrimSpace(u.DKIMDomain)), strings.TrimSpace(u.DKIMSelector)
		if u.GenerateDKIM {
			signer, err := email.GenerateDKIMKey(u.DKIMKind)
			if err != nil {
				return fmt.Errorf("DKIM key: %w", err)
			}
			if st.DKIMKey, err = email.MarshalDKIMKey(signer); err != nil {
				return fmt.Errorf("DKIM key: %w", err)
			}
			changed = append(changed, "dkim_key")
		}
		if u.SMSConfig != nil {
			st.SMSConfig = []byte(strings.TrimSpace(*u.SMSConfig))
			st.SMSProvider = ""
			changed = append(changed, "sms")
		}
		st.SMSSender, st.LinkBaseURL = strings.TrimSpace(u.SMSSender), strings.TrimRight(strings.TrimSpace(u.LinkBaseURL), "/")
		if err := st.Validate(); err != nil {
			return err
		}
		var smtp, dkim, sms []byte
		if st.SMTPURL != "" || len(st.DKIMKey) > 0 || len(st.SMSConfig) > 0 {
			k, err := s.vault.Subject(ctx, tx, tenantID, settingsSubject)
			if err != nil {
				return err
			}
			if st.SMTPURL != "" {
				smtp = k.SealString(fieldSMTP, st.SMTPURL)
			}
			if len(st.DKIMKey) > 0 {
				dkim = k.Seal(fieldDKIM, st.DKIMKey)
			}
			if len(st.SMSConfig) > 0 {
				sms = k.Seal(fieldSMSConfig, st.SMSConfig)
			}
		}
		now := db.Now()
		_, err = tx.ExecContext(ctx, `/* dispatch.Store.SaveSettings */ INSERT INTO messaging_settings (tenant_id, from_name, from_email,
			reply_to, smtp_url_sealed, dkim_domain, dkim_selector, dkim_key_sealed, sms_provider, sms_config_sealed, sms_sender,
			link_base_url, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
			ON CONFLICT (tenant_id) DO UPDATE SET from_name = excluded.from_name, from_email = excluded.from_email,
			reply_to = excluded.reply_to, smtp_url_sealed = excluded.smtp_url_sealed, dkim_domain = excluded.dkim_domain,
			dkim_selector = excluded.dkim_selector, dkim_key_sealed = excluded.dkim_key_sealed, sms_provider = excluded.sms_provider,
			sms_config_sealed = excluded.sms_config_sealed, sms_sender = excluded.sms_sender, link_base_url = excluded.link_base_url,
			updated_at = excluded.updated_at`,
			tenantID, st.FromName, st.FromEmail, st.ReplyTo, smtp, st.DKIMDomain, st.DKIMSelector, dkim, st.SMSProvider, sms,
			st.SMSSender, st.LinkBaseURL, now)
		if err != nil {
			return fmt.Errorf("save messaging settings: %w", db.Translate(err))
		}
		st.UpdatedAt = db.Time(now)
		out = st
		return s.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: actor, Action: "messaging.settings", ObjectKind: "tenant",
			ObjectID: tenantID, Detail: map[string]string{"changed": strings.Join(changed, ",")}})
	})
	if err != nil {
		return Settings{}, err
	}
	s.settings.forget(tenantID)
	return out, nil
}

// settingsCache keeps each tenant's resolved sending set-up briefly.
type settingsCache struct {
	mu sync.Mutex
	m  map[string]settingsEntry
}

type settingsEntry struct {
	st    *sender
	until time.Time
}

func (c *settingsCache) forget(tenantID string) {
	c.mu.Lock()
	delete(c.m, tenantID)
	c.mu.Unlock()
}
