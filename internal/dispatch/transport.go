package dispatch

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"avis/internal/channel/email"
	"avis/internal/channel/sms"
)

// EmailTransport hands built emails to their last hop. Deliver calls
// commit once the whole message is handed over but before it is final (for
// SMTP: before the closing dot of DATA). When commit fails, the message must
// not be delivered. When commit succeeds and the delivery then fails, the
// error says so and the caller undoes what commit recorded.
type EmailTransport interface {
	Deliver(ctx context.Context, env email.Envelope, raw []byte, commit func() error) error
}

// SMSProvider sends SMS (see sms.Provider).
type SMSProvider = sms.Provider

// Transports are the server-wide ways out.
type Transports struct {
	// Email is the server's default relay (AVIS_SMTP_URL); nil means the
	// outbox for tenants without their own relay.
	Email EmailTransport
	// Relay opens a transport for a tenant's own relay URL; nil refuses
	// tenant relays (they then use Email).
	Relay func(relayURL string) (EmailTransport, error)
	// SMS loads a tenant's SMS provider from its JSON configuration; nil
	// uses sms.Load.
	SMS func(config []byte) (sms.Provider, *sms.Limiter, error)
	// From is the sender of tenants that set none (AVIS_MAIL_FROM).
	From string
}

// sender is a tenant's resolved sending set-up.
type sender struct {
	company, lang    string
	from             email.Address
	replyTo          string
	dkim             *email.DKIMKey
	email            EmailTransport // nil: outbox
	sms              sms.Provider   // nil: outbox
	smsLimit         *sms.Limiter
	smsFrom          string
	smsPrices        sms.PriceTable
	linkBase         string
	emailErr, smsErr error // a configuration that could not be loaded
}

func (snd *sender) messageIDDomain() string {
	if i := strings.LastIndexByte(snd.from.Email, '@'); i >= 0 {
		return snd.from.Email[i+1:]
	}
	return "avis.invalid"
}

// relays keeps one transport per tenant relay URL, so that connections are
// pooled across the tenant's messages.
type relays struct {
	mu sync.Mutex
	m  map[string]EmailTransport
}

var tenantRelays = relays{m: map[string]EmailTransport{}}

// sender returns the tenant's sending set-up, cached for a few seconds.
func (s *Store) sender(ctx context.Context, tenantID string) (*sender, error) {
	s.settings.mu.Lock()
	e, ok := s.settings.m[tenantID]
	s.settings.mu.Unlock()
	if ok && time.Now().Before(e.until) {
		return e.st, nil
	}
	t, err := s.accounts.TenantByID(ctx, tenantID)
	if err != nil {
		return nil, fmt.Errorf("sender: %w", err)
	}
	st, err := s.Settings(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	snd := &sender{company: t.Name, lang: t.DefaultLanguage, replyTo: st.ReplyTo, smsFrom: st.SMSSender,
		linkBase: strings.TrimRight(s.o.BaseURL, "/")}
	if st.LinkBaseURL != "" {
		snd.linkBase = st.LinkBaseURL
	}
	snd.from = email.Address{Name: st.FromName, Email: st.FromEmail}
	if snd.from.Name == "" {
		snd.from.Name = t.Name
	}
	if snd.from.Email == "" {
		snd.from.Email = s.o.Transports.From
	}
	if snd.from.Email == "" {
		host := "localhost"
		if u, err := url.Parse(s.o.BaseURL); err == nil && u.Hostname() != "" {
			host = u.Hostname()
		}
		snd.from.Email = "avis@" + host
	}
	if len(st.DKIMKey) > 0 && st.DKIMDomain != "" && st.DKIMSelector != "" {
		signer, err := email.ParseDKIMKey(st.DKIMKey)
		if err != nil {
			return nil, fmt.Errorf("sender: DKIM key: %w", err)
		}
		snd.dkim = &email.DKIMKey{Domain: st.DKIMDomain, Selector: st.DKIMSelector, Signer: signer}
	}
	if !s.o.Outbox {
		snd.email = s.o.Transports.Email
		if st.SMTPURL != "" && s.o.Transports.Relay != nil {
			tenantRelays.mu.Lock()
			tr, ok := tenantRelays.m[st.SMTPURL]
			if !ok {
				tr, err = s.o.Transports.Relay(st.SMTPURL)
				if err == nil {
					tenantRelays.m[st.SMTPURL] = tr
				}
			}
			tenantRelays.mu.Unlock()
			if err != nil {
				snd.emailErr = err
			}
			snd.email = tr
		}
		if len(st.SMSConfig) > 0 {
			load := s.o.Transports.SMS
			if load == nil {
				hooks := strings.TrimRight(s.o.BaseURL, "/") + "/hooks/sms/" + tenantID
				load = func(c []byte) (sms.Provider, *sms.Limiter, error) { return sms.Load(c, sms.Deps{Hooks: hooks}) }
			}
			snd.sms, snd.smsLimit, snd.smsErr = load(st.SMSConfig)
			snd.smsPrices = sms.Prices(st.SMSConfig)
		}
	}
	s.settings.mu.Lock()
	s.settings.m[tenantID] = settingsEntry{st: snd, until: time.Now().Add(cacheTTL)}
	s.settings.mu.Unlock()
	return snd, nil
}

// errNotCommitted is returned by a commit that found the invitation
// already handled (another run sent it).
var errNotCommitted = errors.New("dispatch: invitation already handled")

// SMTPTransport delivers through an SMTP relay with a pool of connections.
type SMTPTransport struct{ SMTP *email.SMTP }

// Deliver implements EmailTransport.
func (t SMTPTransport) Deliver(ctx context.Context, env email.Envelope, raw []byte, commit func() error) error {
	return t.SMTP.SendCommit(ctx, env, raw, commit)
}
