package dispatch

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"strings"

	"avis/internal/audit"
	"avis/internal/channel/email"
	"avis/internal/channel/sms"
	"avis/internal/contact"
	"avis/internal/db"
	"avis/internal/feed"
)

// This file is the person's side of dispatch: a one-off message to one
// contact (the access link to their own page), their invitations as their
// page lists them, and what their unsubscribing or erasure does to the
// invitations still waiting.

// Transactional is a one-off message to one contact, written by the caller
// in the person's language. It is not an invitation: no survey, no
// reminder, no frequency cap, and it goes even to a suppressed address
// (the person asked for it, with that address).
type Transactional struct {
	// Kind names the message in the outbox and the audit log
	// ("access_link").
	Kind string
	// Lang is the language of the texts (the html lang attribute).
	Lang string
	// Subject is the email's subject.
	Subject string
	// Lines are the paragraphs before the link; After those after it.
	Lines, After []string
	// LinkPath is the path of the link ("/me/…"), put after the tenant's
	// link domain (or avis's public URL); LinkLabel is its button.
	LinkPath, LinkLabel string
}

// Where a transactional message went.
const (
	RouteOutbox = "outbox" // kept in the outbox (nothing configured to deliver it)
	RouteRelay  = "relay"  // handed to the SMTP relay
	RouteSMS    = "sms"    // accepted by the SMS provider
)

// ErrNoAddress says the contact has no address on the channel asked for.
var ErrNoAddress = errors.New("the contact has no address on this channel")

var transactionalLayout = template.Must(template.New("transactional").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>{{.Subject}}</title></head>
<body style="margin:0;padding:0;background:#f4f4f5;font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#18181b">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0"><tr><td align="center" style="padding:24px 12px">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:600px;background:#ffffff;border-radius:8px">
<tr><td style="padding:24px 28px 8px;font-size:20px;font-weight:600">{{.Company}}</td></tr>
<tr><td style="padding:8px 28px;font-size:16px;line-height:1.5">{{range .Lines}}<p>{{.}}</p>{{end}}</td></tr>
<tr><td style="padding:16px 28px"><a href="{{.URL}}" style="display:inline-block;background:#1d4ed8;color:#ffffff;text-decoration:none;padding:12px 22px;border-radius:6px;font-weight:600">{{.Label}}</a></td></tr>
<tr><td style="padding:8px 28px 28px;font-size:14px;line-height:1.5;color:#52525b">{{range .After}}<p>{{.}}</p>{{end}}</td></tr>
</table></td></tr></table>
</body></html>`))

// SendTransactional sends a one-off message to one of the tenant's
// contacts by channel (Email or SMS), through the tenant's relay or SMS
// provider, or into the outbox when none is configured (or in demo mode).
// The outbox copy is sealed under the contact's key, so it is erased with
// them. It says where the message went. The message's content is never
// logged; the sending is audited by kind and channel.
func (s *Store) SendTransactional(ctx context.Context, tenantID, contactID, channel string, m Transactional) (string, error) {
	if channel != Email && channel != SMS {
		return "", fmt.Errorf("transactional message: unknown channel %q", channel)
	}
	rcpt, err := s.contacts.Recipient(ctx, nil, tenantID, contactID)
	if err != nil {
		return "", fmt.Errorf("transactional message: %w", err)
	}
	if (channel == Email && rcpt.Email == "") || (channel == SMS && rcpt.Phone == "") {
		return "", ErrNoAddress
	}
	snd, err := s.sender(ctx, tenantID)
	if err != nil {
		return "", fmt.Errorf("transactional message: %w", err)
	}
	link := snd.linkBase + m.LinkPath
	id := db.NewID()
	var route string
	var sealed []byte
	k, err := s.vault.Subject(ctx, nil, tenantID, contactID)
	if err != nil {
		return "", fmt.Errorf("transactional message: %w", err)
	}
	if channel == Email {
		msg, err := s.buildTransactional(snd, rcpt, id, m, link)
		if err != nil {
			return "", err
		}
		if snd.email == nil || snd.emailErr != nil {
			route, sealed = RouteOutbox, k.Seal(fieldOutbox, msg)
		} else {
			err := snd.email.Deliver(ctx, email.Envelope{From: snd.from.Email, To: rcpt.Email}, msg, func() error { return nil })
			var se *email.SendError
			if errors.As(err, &se) {
				return "", fmt.Errorf("transactional message: the relay answered %d %s", se.Code, se.EnhancedCode)
			}
			if err != nil {
				return "", fmt.Errorf("transactional message: %w", err)
			}
			route = RouteRelay
		}
	} else {
		text := sms.Normalise(strings.Join(append(append([]string{}, m.Lines...), link), " "))
		sm := sms.Message{To: rcpt.Phone, From: snd.smsFrom, Text: text, Reference: id}
		if snd.sms == nil || snd.smsErr != nil {
			info := sms.Analyse(text)
			raw, _ := json.Marshal(outboxSMS{To: sm.To, From: sm.From, Text: text, Segments: info.Segments, Encoding: info.Encoding})
			route, sealed = RouteOutbox, k.Seal(fieldOutbox, raw)
		} else {
			if snd.smsLimit != nil {
				if err := snd.smsLimit.Wait(ctx); err != nil {
					return "", err
				}
			}
			if _, err := snd.sms.Send(ctx, sm); err != nil {
				return "", fmt.Errorf("transactional message: %w", err)
			}
			route = RouteSMS
		}
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if route == RouteOutbox {
			if _, err := tx.ExecContext(ctx, `/* dispatch.Store.SendTransactional */ INSERT INTO outbox_messages (tenant_id, id, invitation_id,
				contact_id, channel, kind, message_sealed, created_at) VALUES ($1, $2, '', $3, $4, $5, $6, $7)`,
				tenantID, id, contactID, channel, m.Kind, sealed, db.Now()); err != nil {
				return fmt.Errorf("outbox: %w", db.Translate(err))
			}
		}
		return s.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: audit.System("dispatch"), Action: "message.transactional",
			ObjectKind: "message", ObjectID: id, SubjectID: contactID, Detail: map[string]string{"kind": m.Kind, "channel": channel, "route": route}})
	})
	if err != nil {
		return "", fmt.Errorf("transactional message: %w", err)
	}
	return route, nil
}

// buildTransactional writes the email of a transactional message.
func (s *Store) buildTransactional(snd *sender, rcpt contact.Recipient, id string, m Transactional, link string) ([]byte, error) {
	var html strings.Builder
	if err := transactionalLayout.Execute(&html, map[string]any{"Lang": m.Lang, "Subject": m.Subject, "Company": snd.company,
		"Lines": m.Lines, "After": m.After, "URL": link, "Label": m.LinkLabel}); err != nil {
		return nil, fmt.Errorf("transactional message: %w", err)
	}
	var text strings.Builder
	for _, l := range m.Lines {
		text.WriteString(l + "\n\n")
	}
	text.WriteString(m.LinkLabel + " : " + link + "\n\n")
	for _, l := range m.After {
		text.WriteString(l + "\n\n")
	}
	raw, err := email.Build(email.Message{From: snd.from, ReplyTo: snd.replyTo, To: rcpt.Email, Subject: m.Subject,
		Text: text.String(), HTML: html.String(), MessageID: fmt.Sprintf("<%s@%s>", id, snd.messageIDDomain()),
		Headers: map[string]string{"X-Avis-Message": m.Kind}}, s.now(), snd.dkim)
	if err != nil {
		return nil, fmt.Errorf("transactional message: %w", err)
	}
	return raw, nil
}

// InvitationsOf returns the invitations of one contact of the tenant,
// newest first (at most 500), for the person's own page.
func (s *Store) InvitationsOf(ctx context.Context, tenantID, contactID string) ([]Invitation, error) {
	rows, err := s.db.R.QueryContext(ctx, `/* dispatch.Store.InvitationsOf */ SELECT `+invitationCols+` FROM invitations
		WHERE tenant_id = $1 AND contact_id = $2 ORDER BY id DESC LIMIT 500`, tenantID, contactID)
	if err != nil {
		return nil, fmt.Errorf("invitations of a contact: %w", err)
	}
	defer rows.Close()
	var out []Invitation
	for rows.Next() {
		inv, err := scanInvitation(rows)
		if err != nil {
			return nil, fmt.Errorf("invitations of a contact: %w", err)
		}
		out = append(out, inv)
	}
	return out, rows.Err()
}

// ForgetContact is the erase hook of dispatch (contact.Store.OnErase): the
// contact's invitations still waiting are suppressed at once (reason
// erased), inside the erase transaction. The outbox copies of their
// messages stay, sealed under a key that the erasure destroys.
func (s *Store) ForgetContact(ctx context.Context, tx *sql.Tx, tenantID, contactID string) error {
	seq, err := feed.Reserve(ctx, tx, tenantID, 1)
	if err != nil {
		return fmt.Errorf("forget invitations: %w", err)
	}
	_, err = tx.ExecContext(ctx, `/* dispatch.Store.ForgetContact */ UPDATE invitations SET status = 'suppressed', reason = 'erased',
		updated_at = $3, sync_seq = $4 WHERE tenant_id = $1 AND contact_id = $2 AND status = 'scheduled'`, tenantID, contactID, db.Now(), seq)
	if err != nil {
		return fmt.Errorf("forget invitations: %w", db.Translate(err))
	}
	return nil
}

// Recheck decides again, at once, for each scheduled invitation of a
// contact whether a channel is left to send it by (after the person
// unsubscribed from one): an invitation with none is suppressed now rather
// than when its time comes. It returns how many were suppressed.
func (s *Store) Recheck(ctx context.Context, tenantID, contactID string) (int, error) {
	invs, err := s.InvitationsOf(ctx, tenantID, contactID)
	if err != nil {
		return 0, err
	}
	reach, err := s.contacts.Reachability(ctx, nil, tenantID, contactID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, inv := range invs {
		if inv.Status != StatusScheduled {
			continue
		}
		rule, err := s.cachedRule(ctx, tenantID, inv.RuleID)
		if errors.Is(err, db.ErrNotFound) {
			continue // the sending run records it
		}
		if err != nil {
			return n, err
		}
		ch, reason, err := s.pickChannel(ctx, s.db.R, tenantID, rule.Rule, reach)
		if err != nil {
			return n, err
		}
		if ch != "" || reason == ReasonNoAddress {
			continue
		}
		var k int64
		err = s.db.Tx(ctx, func(tx *sql.Tx) error {
			seq, err := feed.Reserve(ctx, tx, tenantID, 1)
			if err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `/* dispatch.Store.Recheck */ UPDATE invitations SET status = 'suppressed', reason = $3, updated_at = $4,
				sync_seq = $5 WHERE tenant_id = $1 AND id = $2 AND status = 'scheduled'`, tenantID, inv.ID, reason, db.Now(), seq)
			if err != nil {
				return db.Translate(err)
			}
			k, _ = res.RowsAffected()
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("recheck invitation: %w", err)
		}
		if k == 1 {
			n++
		}
	}
	return n, nil
}
