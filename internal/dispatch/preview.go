package dispatch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"avis/internal/audit"
	"avis/internal/channel/email"
	"avis/internal/contact"
	"avis/internal/db"
)

// RuleForStep returns the rule of a step, ErrNoRule when it has none.
func (s *Store) RuleForStep(ctx context.Context, tenantID, stepID string) (Rule, error) {
	return s.ruleForStep(ctx, s.db.R, tenantID, stepID)
}

// stepName reads a step's name (db.ErrNotFound for another tenant's).
func (s *Store) stepName(ctx context.Context, tenantID, stepID string) (string, error) {
	var name string
	err := s.db.R.QueryRowContext(ctx, `/* dispatch.Store.stepName */ SELECT name FROM journey_steps WHERE tenant_id = $1 AND id = $2`,
		tenantID, stepID).Scan(&name)
	if err != nil {
		return "", fmt.Errorf("step: %w", db.Translate(err))
	}
	return name, nil
}

// Preview renders, without sending or recording anything, the invitation
// a rule (saved or not) would send to one of the tenant's contacts, by the
// channel it would take. Reading the contact is audited.
func (s *Store) Preview(ctx context.Context, actor audit.Actor, tenantID string, r Rule, contactID string) (Message, error) {
	if err := r.Validate(); err != nil {
		return Message{}, err
	}
	step, err := s.stepName(ctx, tenantID, r.StepID)
	if err != nil {
		return Message{}, err
	}
	rcpt, err := s.contacts.Recipient(ctx, nil, tenantID, contactID)
	if err != nil {
		return Message{}, err
	}
	if err := s.audit.Record(ctx, nil, audit.Entry{TenantID: tenantID, Actor: actor, Action: "invitation.preview",
		ObjectKind: "contact", ObjectID: contactID, SubjectID: contactID}); err != nil {
		return Message{}, err
	}
	ch, _, err := s.pickChannel(ctx, s.db.R, tenantID, &r, rcpt.Reach)
	if err != nil {
		return Message{}, err
	}
	if ch == "" {
		ch = r.Channels[0]
	}
	return s.render(ctx, tenantID, &r, rcpt, step, ch, "preview-"+contactID)
}

// TestSend sends the invitation of a rule to an address the user gives,
// with sample personal data, through the tenant's relay (or the outbox).
// It says where the message went: "relay" or "outbox".
func (s *Store) TestSend(ctx context.Context, actor audit.Actor, tenantID string, r Rule, to string) (string, error) {
	if err := r.Validate(); err != nil {
		return "", err
	}
	step, err := s.stepName(ctx, tenantID, r.StepID)
	if err != nil {
		return "", err
	}
	rcpt := contact.Recipient{Contact: contact.Contact{ID: "test", Email: to, FirstName: "Marie", LastName: "Exemple",
		Language: "", TimeZone: "Europe/Paris"}, Attributes: map[string]string{"store": "Lyon Part-Dieu", "product": "Vélo électrique"}}
	rcpt.Reach.HasEmail = true
	msg, err := s.render(ctx, tenantID, &r, rcpt, step, Email, "test-"+db.NewID())
	if err != nil {
		return "", err
	}
	if err := s.audit.Record(ctx, nil, audit.Entry{TenantID: tenantID, Actor: actor, Action: "invitation.test", ObjectKind: "rule",
		ObjectID: r.ID}); err != nil {
		return "", err
	}
	snd, err := s.sender(ctx, tenantID)
	if err != nil {
		return "", err
	}
	if snd.email == nil {
		k, err := s.vault.Subject(ctx, nil, tenantID, settingsSubject)
		if err != nil {
			return "", err
		}
		_, err = s.db.W.ExecContext(ctx, `/* dispatch.Store.TestSend */ INSERT INTO outbox_messages (tenant_id, id, invitation_id, contact_id,
			channel, kind, message_sealed, created_at) VALUES ($1, $2, '', $3, 'email', 'test', $4, $5)`,
			tenantID, db.NewID(), settingsSubject, k.Seal(fieldOutbox, msg.Raw), db.Now())
		if err != nil {
			return "", fmt.Errorf("outbox: %w", db.Translate(err))
		}
		return "outbox", nil
	}
	err = snd.email.Deliver(ctx, msg.Envelope, msg.Raw, func() error { return nil })
	var se *email.SendError
	if errors.As(err, &se) {
		return "", fmt.Errorf("the relay answered %d %s", se.Code, se.EnhancedCode)
	}
	if err != nil {
		return "", err
	}
	return "relay", nil
}

// render builds a message outside a sending run (preview, test).
func (s *Store) render(ctx context.Context, tenantID string, r *Rule, rcpt contact.Recipient, step, ch, id string) (Message, error) {
	snd, err := s.sender(ctx, tenantID)
	if err != nil {
		return Message{}, err
	}
	lang := snd.lang
	for _, l := range Languages {
		if l == rcpt.Language {
			lang = l
		}
	}
	now := s.now()
	rc := &renderCtx{inv: Invitation{ID: id, Language: lang, Channel: ch}, rule: compileRule(r), snd: snd, rcpt: rcpt,
		stepName: step, occurred: now.Add(-24 * time.Hour), token: "preview-link-0000000000", now: now}
	if ch == SMS {
		return rc.renderSMS()
	}
	return rc.renderEmail()
}

// SentSince counts the tenant's invitations and reminders sent since t
// (the rate of a sending run).
func (s *Store) SentSince(ctx context.Context, tenantID string, t time.Time) (int, error) {
	var n int
	err := s.db.R.QueryRowContext(ctx, `/* dispatch.Store.SentSince */ SELECT COUNT(*) FROM invitations
		WHERE tenant_id = $1 AND status IN ('sent', 'delivered', 'answered', 'expired') AND updated_at >= $2`, tenantID, db.Stamp(t)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sending rate: %w", err)
	}
	return n, nil
}
