package dispatch

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"avis/internal/contact"
	"avis/internal/privacy"
)

func accessMessage() Transactional {
	return Transactional{Kind: "access_link", Lang: "fr", Subject: "Vos données chez Boutique Dupont",
		Lines: []string{"Voici le lien vers vos données :"}, LinkPath: "/me/abc", LinkLabel: "Voir mes données",
		After: []string{"Si vous n'avez rien demandé, ignorez ce message."}}
}

// TestTransactionalToOutbox: with nothing configured, a one-off message
// lands in the outbox sealed under the contact's key, by email or SMS,
// even to a suppressed address; a missing address is an error.
func TestTransactionalToOutbox(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Options{})
	cid := e.contact(contact.Input{Email: "ines@example.org", Phone: "+33639980001", FirstName: "Inès", Language: "fr"})
	reach, _ := e.contacts.Reachability(ctx, nil, e.tenant.ID, cid)
	if err := privacy.Suppress(ctx, e.db.W, e.tenant.ID, reach.EmailIndex, privacy.SuppressEmail, privacy.ReasonUnsubscribed); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []string{Email, SMS} {
		route, err := e.s.SendTransactional(ctx, e.tenant.ID, cid, ch, accessMessage())
		if err != nil || route != RouteOutbox {
			t.Fatalf("%s: %s %v", ch, route, err)
		}
	}
	box, err := e.s.Outbox(ctx, e.tenant.ID, "", 10)
	if err != nil || len(box) != 2 {
		t.Fatalf("outbox: %d %v", len(box), err)
	}
	for _, b := range box {
		m, err := e.s.OutboxMessage(ctx, sys, e.tenant.ID, b.ID)
		if err != nil || m.Kind != "access_link" || m.ContactID != cid {
			t.Fatalf("outbox message: %+v %v", m, err)
		}
		switch m.Channel {
		case Email:
			body := decodeQP(string(m.Raw))
			if !strings.Contains(string(m.Raw), "To: <ines@example.org>") || !strings.Contains(body, "https://avis.example.net/me/abc") ||
				!strings.Contains(body, "Voir mes données") || !strings.Contains(body, "Boutique Dupont") {
				t.Errorf("email:\n%s", m.Raw)
			}
		case SMS:
			if m.To != "+33639980001" || !strings.Contains(string(m.Raw), "https://avis.example.net/me/abc") {
				t.Errorf("SMS: %+v %q", m, m.Raw)
			}
		}
	}
	nophone := e.contact(contact.Input{Email: "solo@example.org"})
	if _, err := e.s.SendTransactional(ctx, e.tenant.ID, nophone, SMS, accessMessage()); !errors.Is(err, ErrNoAddress) {
		t.Errorf("no phone: %v", err)
	}
}

// TestTransactionalBySMTP: with a relay, the message reaches the SMTP
// server, DKIM-signed, and nothing is kept in the outbox.
func TestTransactionalBySMTP(t *testing.T) {
	ctx := context.Background()
	e, srv, _ := smtpEnv(t)
	cid := e.contact(contact.Input{Email: "zoe@example.org", FirstName: "Zoé", Language: "fr"})
	route, err := e.s.SendTransactional(ctx, e.tenant.ID, cid, Email, accessMessage())
	if err != nil || route != RouteRelay {
		t.Fatalf("%s %v", route, err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || msgs[0].To[0] != "zoe@example.org" || !strings.Contains(string(msgs[0].Data), "DKIM-Signature") {
		t.Fatalf("the SMTP server got %d messages", len(msgs))
	}
	if box, _ := e.s.Outbox(ctx, e.tenant.ID, "", 10); len(box) != 0 {
		t.Errorf("outbox: %d", len(box))
	}
}

// TestRecheckAndForget: unsubscribing from the only channel suppresses a
// scheduled invitation at once, one with a fallback channel stays; the
// erase hook suppresses what is still scheduled.
func TestRecheckAndForget(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Options{})
	e.rule(func(r *Rule) { r.Delay = 48 * time.Hour })
	only := e.contact(contact.Input{Email: "only@example.org"})
	both := e.contact(contact.Input{Email: "both@example.org", Phone: "+33639980002"})
	scOnly := e.event(only, e.clock.now())
	e.rule(func(r *Rule) { r.Delay = 48 * time.Hour; r.Channels = []string{Email, SMS} })
	scBoth := e.event(both, e.clock.now())
	for _, c := range []string{only, both} {
		reach, _ := e.contacts.Reachability(ctx, nil, e.tenant.ID, c)
		if err := privacy.Suppress(ctx, e.db.W, e.tenant.ID, reach.EmailIndex, privacy.SuppressEmail, privacy.ReasonUnsubscribed); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := e.s.Recheck(ctx, e.tenant.ID, only); err != nil || n != 1 {
		t.Fatalf("recheck: %d %v", n, err)
	}
	if inv := e.inv(scOnly.InvitationID); inv.Status != StatusSuppressed || inv.Reason != privacy.ReasonUnsubscribed {
		t.Errorf("only email: %+v", inv)
	}
	if n, _ := e.s.Recheck(ctx, e.tenant.ID, both); n != 0 {
		t.Errorf("an invitation with an SMS fallback was suppressed")
	}
	if invs, err := e.s.InvitationsOf(ctx, e.tenant.ID, both); err != nil || len(invs) != 1 || invs[0].ID != scBoth.InvitationID {
		t.Fatalf("invitations of: %+v %v", invs, err)
	}
	if err := e.db.Tx(ctx, func(tx *sql.Tx) error { return e.s.ForgetContact(ctx, tx, e.tenant.ID, both) }); err != nil {
		t.Fatal(err)
	}
	if inv := e.inv(scBoth.InvitationID); inv.Status != StatusSuppressed || inv.Reason != ReasonErased {
		t.Errorf("after the erase hook: %+v", inv)
	}
}
