package crmsync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/channel/email"
	"avis/internal/dispatch"
	"avis/internal/i18n"
)

// MailNotifier emails a tenant's owners and administrators when one of its
// webhook endpoints is disabled, through the server's SMTP relay. The
// email names the endpoint (its URL and why it stopped) and links to its
// page: no personal data of contacts.
type MailNotifier struct {
	Accounts *account.Store
	// Mail is the server's relay; nil: nobody is emailed (the page and
	// the audit log still say it).
	Mail dispatch.EmailTransport
	// From is the sender address; BaseURL is avis's public URL.
	From, BaseURL string
	Cat           *i18n.Catalogs
}

// EndpointDisabled implements Notifier.
func (n MailNotifier) EndpointDisabled(ctx context.Context, ep Endpoint) error {
	if n.Mail == nil {
		return nil
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
			t("Why: %s", ep.DisabledReason) + "\n\n" +
			t("The events that happened meanwhile are kept for 30 days. Once the receiver works again, enable the endpoint on its page: they will be delivered in order.") + "\n\n" +
			link + "\n"
		raw, err := email.Build(email.Message{From: email.Address{Name: "avis", Email: n.From}, To: m.Email,
			Subject: t("avis: a webhook endpoint was disabled"), Text: text,
			Headers: map[string]string{"X-Avis-Message": "webhook_disabled"}}, time.Now(), nil)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := n.Mail.Deliver(ctx, email.Envelope{From: n.From, To: m.Email}, raw, func() error { return nil }); err != nil {
			errs = append(errs, fmt.Errorf("notify user %s: %w", m.ID, err))
		}
	}
	return errors.Join(errs...)
}
