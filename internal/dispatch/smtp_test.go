package dispatch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-smtp"

	"avis/internal/channel/email"
	"avis/internal/channel/email/smtptest"
	"avis/internal/contact"
	"avis/internal/feed"
	"avis/internal/privacy"
)

// smtpEnv is an env whose email goes to a real SMTP server on loopback,
// with the tenant's sender identity and DKIM key set.
func smtpEnv(t *testing.T) (*env, *smtptest.Server, string) {
	t.Helper()
	srv, err := smtptest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	relay, err := email.ParseRelayURL(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	sender, err := email.NewSMTP(relay, email.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sender.Close() })
	e := newEnv(t, Options{Transports: Transports{Email: SMTPTransport{sender}}})
	st, err := e.s.SaveSettings(context.Background(), sys, e.tenant.ID, SettingsUpdate{FromName: "Boutique Dupont",
		FromEmail: "avis@boutique.example", ReplyTo: "service@boutique.example", DKIMDomain: "boutique.example",
		DKIMSelector: "avis2026", GenerateDKIM: true})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := email.ParseDKIMKey(st.DKIMKey)
	if err != nil {
		t.Fatal(err)
	}
	k := email.DKIMKey{Domain: st.DKIMDomain, Selector: st.DKIMSelector, Signer: signer}
	_, txt, err := k.DNSRecord()
	if err != nil {
		t.Fatal(err)
	}
	return e, srv, txt
}

func TestSendBySMTPWithDKIM(t *testing.T) {
	ctx := context.Background()
	e, srv, txt := smtpEnv(t)
	e.rule(nil)
	cid := e.contact(contact.Input{Email: "zoe@example.org", FirstName: "Zoé", Language: "fr"})
	sc := e.event(cid, e.clock.now())
	if err := e.run(sc.InvitationID, 0); err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("the SMTP server received %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.From != "avis@boutique.example" || len(m.To) != 1 || m.To[0] != "zoe@example.org" {
		t.Fatalf("envelope %s → %v", m.From, m.To)
	}
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(m.Data), &dkim.VerifyOptions{LookupTXT: func(domain string) ([]string, error) {
		if domain != "avis2026._domainkey.boutique.example" {
			return nil, errors.New("no such record")
		}
		return []string{txt}, nil
	}})
	if err != nil || len(verifs) != 1 || verifs[0].Err != nil || verifs[0].Domain != "boutique.example" {
		t.Fatalf("DKIM: %v %+v", err, verifs)
	}
	signed := strings.ToLower(strings.Join(verifs[0].HeaderKeys, ":"))
	for _, h := range []string{"list-unsubscribe", "list-unsubscribe-post", "from", "subject"} {
		if !strings.Contains(signed, h) {
			t.Errorf("DKIM does not cover %s (h=%s)", h, signed)
		}
	}
	parsed, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	token, _ := e.s.token(ctx, nil, e.tenant.ID, sc.InvitationID)
	if got := parsed.Header.Get("List-Unsubscribe"); !strings.Contains(got, "<https://avis.example.net/u/"+token+">") || !strings.Contains(got, "mailto:service@boutique.example") {
		t.Errorf("List-Unsubscribe = %q", got)
	}
	if !strings.Contains(decodeQP(string(m.Data)), "Bonjour Zoé") {
		t.Error("the message is not personalised")
	}
	if inv := e.inv(sc.InvitationID); inv.Status != StatusSent {
		t.Fatalf("status %s", inv.Status)
	}
}

func TestSMTPBouncesAndRetries(t *testing.T) {
	ctx := context.Background()
	e, srv, _ := smtpEnv(t)
	e.rule(nil)

	// A hard bounce marks the invitation and suppresses the address.
	srv.Reject("nobody@example.org", 550)
	bad := e.contact(contact.Input{Email: "nobody@example.org"})
	sc := e.event(bad, e.clock.now())
	if err := e.run(sc.InvitationID, 0); err != nil {
		t.Fatal(err)
	}
	if inv := e.inv(sc.InvitationID); inv.Status != StatusBounced || inv.Reason != ReasonHardBounce {
		t.Fatalf("hard bounce: %+v", inv)
	}
	reach, _ := e.contacts.Reachability(ctx, nil, e.tenant.ID, bad)
	if sup, why, _ := privacy.Suppressed(ctx, e.db.R, e.tenant.ID, reach.EmailIndex); !sup || why != privacy.ReasonHardBounce {
		t.Fatalf("bounced address not suppressed: %v %s", sup, why)
	}
	if got := e.events(); len(got) != 1 || got[0].Type != feed.InvitationBounced || got[0].ObjectID != sc.InvitationID || got[0].ContactID != bad {
		t.Fatalf("feed events after a hard bounce: %+v", got)
	}

	// A temporary refusal is retried: the job fails, the invitation waits.
	srv.Reject("busy@example.org", 451)
	busy := e.contact(contact.Input{Email: "busy@example.org"})
	sc = e.event(busy, e.clock.now())
	if err := e.run(sc.InvitationID, 0); err == nil {
		t.Fatal("a 451 did not fail the job")
	}
	if inv := e.inv(sc.InvitationID); inv.Status != StatusScheduled {
		t.Fatalf("after 451: %+v", inv)
	}
	// On the last attempt it gives up with a clear status.
	if err := e.s.send(ctx, SendArgs{TenantID: e.tenant.ID, InvitationID: sc.InvitationID}, true, nil); err != nil {
		t.Fatal(err)
	}
	if inv := e.inv(sc.InvitationID); inv.Status != StatusBounced || inv.Reason != ReasonRetriesDone {
		t.Fatalf("after the last attempt: %+v", inv)
	}
	if n := srv.Count(); n != 0 {
		t.Fatalf("%d messages accepted, want 0", n)
	}
}

// TestRelayThrottlePutsBack: when the relay asks to slow down (451 4.7.0
// to a message), that message and the others of the run wait out the pause
// as scheduled — none is counted as a failed attempt, none is given up,
// and the paused relay is not called again during the run.
func TestRelayThrottlePutsBack(t *testing.T) {
	ctx := context.Background()
	e, srv, _ := smtpEnv(t)
	e.rule(nil)
	var mu sync.Mutex
	var tries int
	srv.OnData(func(smtptest.Message) error {
		mu.Lock()
		defer mu.Unlock()
		tries++
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Too many messages, slow down"}
	})
	var ids []string
	for i := range 20 {
		ids = append(ids, e.event(e.contact(contact.Input{Email: fmt.Sprintf("p%d@example.org", i)}), e.clock.now()).InvitationID)
	}
	if _, err := e.s.RunDue(ctx, e.tenant.ID); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		inv := e.inv(id)
		if inv.Status != StatusScheduled || inv.Attempts != 0 || !inv.DueAt.After(e.clock.now()) {
			t.Errorf("invitation %s after the relay asked to slow down: %s, %d attempts, due %v (now %v)",
				id, inv.Status, inv.Attempts, inv.DueAt, e.clock.now())
		}
	}
	// Messages already on the relay's connections when it refused the
	// first are refused too; no other reaches it.
	mu.Lock()
	defer mu.Unlock()
	if pool := 4; tries < 1 || tries > pool || srv.Count() != 0 {
		t.Errorf("the relay saw %d messages and accepted %d; want 1 to 4 (the connection pool) and 0", tries, srv.Count())
	}
}
