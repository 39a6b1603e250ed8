package dispatch

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"avis/internal/audit"
	"avis/internal/db"
	"avis/internal/vault"
)

// fieldOutbox is the vault field of an outbox message.
const fieldOutbox = "outbox_message"

// OutboxMessage is one message kept in the outbox, exactly as it would
// have left.
type OutboxMessage struct {
	ID, InvitationID, ContactID string
	Channel                     string
	// Kind is "invitation" or "reminder N".
	Kind string
	// Raw is the email (RFC 5322 bytes) or the SMS text.
	Raw []byte
	// To and From are the SMS addresses; Segments and Encoding its cost.
	To, From  string
	Segments  int
	Encoding  string
	CreatedAt time.Time
	Erased    bool
}

type outboxSMS struct {
	To       string `json:"to"`
	From     string `json:"from"`
	Text     string `json:"text"`
	Segments int    `json:"segments"`
	Encoding string `json:"encoding"`
}

func (s *Store) toOutbox(ctx context.Context, tx *sql.Tx, tenantID string, inv Invitation, reminder int, msg Message) error {
	k, err := s.vault.Subject(ctx, tx, tenantID, inv.ContactID)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	raw := msg.Raw
	if msg.Channel == SMS {
		raw, _ = json.Marshal(outboxSMS{To: msg.SMS.To, From: msg.SMS.From, Text: msg.SMS.Text, Segments: msg.Info.Segments, Encoding: msg.Info.Encoding})
	}
	kind := "invitation"
	if reminder > 0 {
		kind = fmt.Sprintf("reminder %d", reminder)
	}
	_, err = tx.ExecContext(ctx, `/* dispatch.Store.toOutbox */ INSERT INTO outbox_messages (tenant_id, id, invitation_id, contact_id,
		channel, kind, message_sealed, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		tenantID, db.NewID(), inv.ID, inv.ContactID, msg.Channel, kind, k.Seal(fieldOutbox, raw), db.Now())
	if err != nil {
		return fmt.Errorf("outbox: %w", db.Translate(err))
	}
	return nil
}

// Outbox lists the tenant's outbox, newest first, without the messages.
func (s *Store) Outbox(ctx context.Context, tenantID, before string, limit int) ([]OutboxMessage, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	if before == "" {
		before = "~"
	}
	rows, err := s.db.R.QueryContext(ctx, `/* dispatch.Store.Outbox */ SELECT id, invitation_id, contact_id, channel, kind, created_at
		FROM outbox_messages WHERE tenant_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, tenantID, before, limit)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	defer rows.Close()
	var out []OutboxMessage
	for rows.Next() {
		var m OutboxMessage
		var at int64
		if err := rows.Scan(&m.ID, &m.InvitationID, &m.ContactID, &m.Channel, &m.Kind, &at); err != nil {
			return nil, fmt.Errorf("outbox: %w", err)
		}
		m.CreatedAt = db.Time(at)
		out = append(out, m)
	}
	return out, rows.Err()
}

// OutboxMessage opens one outbox message; reading it is audited (it holds
// the recipient's address and name). An erased recipient's message comes
// back with Erased set and no content.
func (s *Store) OutboxMessage(ctx context.Context, actor audit.Actor, tenantID, id string) (OutboxMessage, error) {
	var m OutboxMessage
	var at int64
	var sealed []byte
	err := s.db.R.QueryRowContext(ctx, `/* dispatch.Store.OutboxMessage */ SELECT id, invitation_id, contact_id, channel, kind, message_sealed, created_at
		FROM outbox_messages WHERE tenant_id = $1 AND id = $2`, tenantID, id).Scan(&m.ID, &m.InvitationID, &m.ContactID, &m.Channel, &m.Kind, &sealed, &at)
	if err != nil {
		return m, fmt.Errorf("outbox message: %w", db.Translate(err))
	}
	m.CreatedAt = db.Time(at)
	k, err := s.vault.Lookup(ctx, tenantID, m.ContactID)
	if err != nil {
		if isErased(err) {
			m.Erased = true
			return m, nil
		}
		return m, fmt.Errorf("outbox message: %w", err)
	}
	raw, err := k.Open(fieldOutbox, sealed)
	if err != nil {
		return m, fmt.Errorf("outbox message: %w", err)
	}
	if m.Channel == SMS {
		var o outboxSMS
		if err := json.Unmarshal(raw, &o); err != nil {
			return m, fmt.Errorf("outbox message: %w", err)
		}
		m.Raw, m.To, m.From, m.Segments, m.Encoding = []byte(o.Text), o.To, o.From, o.Segments, o.Encoding
	} else {
		m.Raw = raw
	}
	if err := s.audit.Record(ctx, nil, audit.Entry{TenantID: tenantID, Actor: actor, Action: "outbox.read", ObjectKind: "invitation",
		ObjectID: m.InvitationID, SubjectID: m.ContactID}); err != nil {
		return m, fmt.Errorf("outbox message: %w", err)
	}
	return m, nil
}

func isErased(err error) bool {
	return errors.Is(err, vault.ErrErased) || errors.Is(err, db.ErrNotFound)
}
