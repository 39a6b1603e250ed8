package crmsync

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/channel/email"
	"avis/internal/db"
	"avis/internal/feed"
	"avis/internal/i18n"
	"avis/internal/vault"
)

// MailNotifier emails a tenant's owners and administrators when one of its
// webhook endpoints is disabled, through the server's SMTP relay. The
// email names the endpoint (its URL and why it stopped) and links to its
// page: no personal data of contacts.
type MailNotifier struct {
	Accounts *account.Store
	// SMTP is the server's relay (AVIS_SMTP_URL); nil: nobody is
	// emailed (the endpoint's page and the audit log still say it).
	SMTP *email.SMTP
	// From is the sender address (AVIS_MAIL_FROM; default avis@ the host
	// of BaseURL); BaseURL is avis's public URL.
	From, BaseURL string
	Cat           *i18n.Catalogs
}

// EndpointDisabled implements Notifier.
func (n MailNotifier) EndpointDisabled(ctx context.Context, ep Endpoint) error {
	if n.SMTP == nil {
		return nil
	}
	from := n.From
	if from == "" {
		host := "localhost"
		if u, err := url.Parse(n.BaseURL); err == nil && u.Hostname() != "" {
			host = u.Hostname()
		}
		from = "avis@" + host
	}
	members, err := n.Accounts.Members(ctx, audit.System("webhooks"), ep.TenantID)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	cat := n.Cat
	if cat == nil {
		cat = i18n.MustLoad()
	}
	link := strings.TrimRight(n.BaseURL, "/") + "/webhooks/" + ep.ID
	var errs []error
	for _, m := range members {
		if m.Email == "" || (m.Role != account.RoleOwner && m.Role != account.RoleAdmin) {
			continue
		}
		lang := m.Language
		if lang == "" {
			lang = i18n.Default
		}
		t := func(msg string, args ...any) string { return cat.T(lang, msg, args...) }
		text := t("avis stopped sending events to the webhook endpoint %s.", ep.URL) + "\n\n" +
			t("Why: %s", TranslateProblem(ep.DisabledReason, t)) + "\n\n" +
			t("The events that happened meanwhile are kept for 30 days. Once the receiver works again, enable the endpoint on its page: they will be delivered in order.") + "\n\n" +
			link + "\n"
		raw, err := email.Build(email.Message{From: email.Address{Name: "avis", Email: from}, To: m.Email,
			Subject: t("avis: a webhook endpoint was disabled"), Text: text,
			Headers: map[string]string{"X-Avis-Message": "webhook_disabled"}}, time.Now(), nil)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := n.SMTP.SendCommit(ctx, email.Envelope{From: from, To: m.Email}, raw, func() error { return nil }); err != nil {
			errs = append(errs, fmt.Errorf("notify user %s: %w", m.ID, err))
		}
	}
	return errors.Join(errs...)
}

// OpenWebhooks builds the webhook store and sender with o and registers its
// Hook on the feed f, so that every change queues its deliveries.
func OpenWebhooks(d *db.DB, v *vault.Vault, a *audit.Log, f *feed.Feed, o WebhookOptions) *Webhooks {
	w := NewWebhooks(d, v, a, o)
	f.OnEmit(w.Hook)
	return w
}
