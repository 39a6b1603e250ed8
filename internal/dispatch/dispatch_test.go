package dispatch

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/contact"
	"avis/internal/db"
	"avis/internal/db/dbtest"
	"avis/internal/feed"
	"avis/internal/jobs"
	"avis/internal/journey"
	"avis/internal/privacy"
	"avis/internal/survey"
	"avis/internal/vault"
)

var sys = audit.System("test")

// env is a tenant with a journey (order → delivery), a survey and the
// stores, on a fresh database.
type env struct {
	t        *testing.T
	db       *db.DB
	s        *Store
	contacts *contact.Store
	journeys *journey.Store
	tenant   account.Tenant
	step     journey.Step
	surveyID string
	clock    *clock
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func newEnv(t *testing.T, o Options) *env {
	t.Helper()
	ctx := context.Background()
	d := dbtest.Open(t)
	v, err := vault.New(ctx, d, bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	a := audit.New(d)
	accounts := account.NewStore(d, v, a, account.Options{Argon2Memory: 1024, Argon2Time: 1})
	tn, err := accounts.CreateTenant(ctx, sys, "boutique", "Boutique Dupont")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: d, contacts: contact.NewStore(d, v, a), journeys: journey.NewStore(d, a), tenant: tn,
		clock: &clock{t: time.Date(2026, 6, 9, 10, 0, 0, 0, time.UTC)}} // a Tuesday, 12:00 in Paris
	j, err := e.journeys.CreateJourney(ctx, sys, tn.ID, "Online order", []journey.StepInput{{Key: "order", Name: "Commande"}, {Key: "delivery", Name: "Livraison"}})
	if err != nil {
		t.Fatal(err)
	}
	e.step = j.Steps[1]
	def, err := survey.Parse([]byte(`{"avis_survey": 1, "name": "Livraison", "default_language": "fr", "languages": ["fr"],
		"pages": [{"questions": [{"id": "nps", "type": "nps", "required": true, "text": {"fr": "Recommanderiez-vous ?"}}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	sv, err := survey.NewStore(d, a).Create(ctx, sys, tn.ID, def)
	if err != nil {
		t.Fatal(err)
	}
	e.surveyID = sv.ID
	o.Now = e.clock.now
	if o.BaseURL == "" {
		o.BaseURL = "https://avis.example.net"
	}
	e.s = NewStore(d, v, a, e.contacts, accounts, slog.New(slog.NewTextHandler(io.Discard, nil)), o)
	q, err := jobs.New(d, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, jobs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.s.Queue = q
	return e
}

func (e *env) rule(change func(*Rule)) Rule {
	e.t.Helper()
	r := DefaultRule(e.step.ID, e.surveyID)
	if change != nil {
		change(&r)
	}
	saved, err := e.s.SaveRule(context.Background(), sys, e.tenant.ID, r)
	if err != nil {
		e.t.Fatal(err)
	}
	return saved
}

func (e *env) contact(in contact.Input) string {
	e.t.Helper()
	c, err := e.contacts.Create(context.Background(), sys, e.tenant.ID, in)
	if err != nil {
		e.t.Fatal(err)
	}
	return c.ID
}

// event records a delivery event for the contact and schedules it.
func (e *env) event(contactID string, at time.Time) Scheduled {
	e.t.Helper()
	var out []Scheduled
	err := e.db.Tx(context.Background(), func(tx *sql.Tx) error {
		tp, _, err := e.journeys.Record(context.Background(), tx, e.tenant.ID, journey.Event{ContactID: contactID, StepKey: "delivery",
			OccurredAt: at, SourceKind: "test", SourceID: "t"})
		if err != nil {
			return err
		}
		out, err = e.s.Schedule(context.Background(), tx, e.tenant.ID, []journey.Touchpoint{tp})
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out[0]
}

// run works the send job of an invitation as River would.
func (e *env) run(id string, reminder int) error {
	return e.s.send(context.Background(), SendArgs{TenantID: e.tenant.ID, InvitationID: id, Reminder: reminder}, false, nil)
}

// events returns the tenant's feed events, oldest first.
func (e *env) events() []feed.Event {
	e.t.Helper()
	evs, err := feed.New(e.db).After(context.Background(), e.tenant.ID, 0, 100)
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

func (e *env) inv(id string) Invitation {
	e.t.Helper()
	inv, err := e.s.Invitation(context.Background(), e.tenant.ID, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return inv
}

func TestRuleValidation(t *testing.T) {
	id := db.NewID()
	cases := []struct {
		name   string
		change func(*Rule)
		want   string
	}{
		{"defaults", func(*Rule) {}, ""},
		{"no channel", func(r *Rule) { r.Channels = nil }, "choose email, SMS"},
		{"unknown channel", func(r *Rule) { r.Channels = []string{"fax"} }, `channel "fax"`},
		{"negative delay", func(r *Rule) { r.Delay = -time.Hour }, "delay"},
		{"sampling", func(r *Rule) { r.SamplePercent = 0 }, "sampling"},
		{"reminder after expiry", func(r *Rule) { r.ReminderDays, r.ExpiryDays = 10, 5 }, "before the link expires"},
		{"unknown placeholder", func(r *Rule) { r.Texts = map[string]Texts{"fr": {Body: "Bonjour\n{{ prenom }}"}} }, "line 2"},
		{"unclosed if", func(r *Rule) { r.Texts = map[string]Texts{"fr": {Subject: "{{ if first_name }}x"}} }, "subject"},
		{"unknown language", func(r *Rule) { r.Texts = map[string]Texts{"xx": {Body: "x"}} }, `texts in "xx"`},
		{"window never opens", func(r *Rule) { r.SMSWindow.Days = [7]bool{} }, "SMS send window"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := DefaultRule(id, id)
			c.change(&r)
			err := r.Validate()
			if c.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrInvalidRule) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Validate = %v, want an ErrInvalidRule mentioning %q", err, c.want)
			}
		})
	}
}

func TestScheduleAndSendToOutbox(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Options{})
	e.rule(func(r *Rule) { r.Delay = 2 * 24 * time.Hour })
	cid := e.contact(contact.Input{Email: "marie.curie@example.fr", FirstName: "Marie", LastName: "Curie", Language: "fr", TimeZone: "Europe/Paris"})
	occurred := e.clock.now()
	sc := e.event(cid, occurred)
	if sc.Status != StatusScheduled || sc.InvitationID == "" {
		t.Fatalf("Schedule = %+v", sc)
	}
	// Due two days later (Thursday 12:00 in Paris is inside the window).
	if want := occurred.Add(48 * time.Hour); !sc.DueAt.Equal(want) {
		t.Fatalf("due %v, want %v", sc.DueAt, want)
	}
	// The same event again schedules nothing more.
	var again []Scheduled
	_ = e.db.Tx(ctx, func(tx *sql.Tx) error {
		tps, _ := e.journeys.Touchpoints(ctx, e.tenant.ID, cid)
		var err error
		again, err = e.s.Schedule(ctx, tx, e.tenant.ID, tps)
		return err
	})
	if len(again) != 1 || again[0].InvitationID != sc.InvitationID {
		t.Fatalf("second Schedule = %+v", again)
	}
	e.clock.set(sc.DueAt)
	if err := e.run(sc.InvitationID, 0); err != nil {
		t.Fatal(err)
	}
	inv := e.inv(sc.InvitationID)
	if inv.Status != StatusSent || inv.SentAt.IsZero() || !inv.ExpiresAt.Equal(inv.SentAt.AddDate(0, 0, 30)) {
		t.Fatalf("after send: %+v", inv)
	}
	// Running the job again (a retry after a crash) sends nothing twice.
	if err := e.run(sc.InvitationID, 0); err != nil {
		t.Fatal(err)
	}
	box, err := e.s.Outbox(ctx, e.tenant.ID, "", 10)
	if err != nil || len(box) != 1 {
		t.Fatalf("outbox = %d messages, %v; want 1", len(box), err)
	}
	m, err := e.s.OutboxMessage(ctx, sys, e.tenant.ID, box[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(m.Raw))
	if err != nil {
		t.Fatal(err)
	}
	if got := msg.Header.Get("To"); !strings.Contains(got, "marie.curie@example.fr") {
		t.Errorf("To = %q", got)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if subject != "Boutique Dupont : votre avis compte" {
		t.Errorf("Subject = %q", subject)
	}
	if got := msg.Header.Get("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post = %q", got)
	}
	body := string(m.Raw)
	token, _ := e.s.token(ctx, nil, e.tenant.ID, inv.ID)
	for _, want := range []string{"Bonjour Marie", "https://avis.example.net/s/" + token, "https://avis.example.net/u/" + token, "Livraison"} {
		if !strings.Contains(decodeQP(body), want) {
			t.Errorf("message lacks %q", want)
		}
	}
	// The token in the link finds the invitation; a forged one does not.
	if tid, got, err := e.s.ByToken(ctx, token); err != nil || tid != e.tenant.ID || got.ID != inv.ID {
		t.Fatalf("ByToken = %s %+v %v", tid, got, err)
	}
	if _, _, err := e.s.ByToken(ctx, strings.Repeat("A", 22)); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("forged token: %v", err)
	}
	// A reminder was scheduled and goes with the reminder prefix.
	e.clock.set(inv.SentAt.AddDate(0, 0, 3))
	if err := e.run(inv.ID, 1); err != nil {
		t.Fatal(err)
	}
	if got := e.inv(inv.ID); got.RemindersSent != 1 {
		t.Fatalf("reminders sent = %d", got.RemindersSent)
	}
	box, _ = e.s.Outbox(ctx, e.tenant.ID, "", 10)
	if len(box) != 2 || box[0].Kind != "reminder 1" {
		t.Fatalf("outbox after reminder = %+v", box)
	}
	// Expiry.
	e.clock.set(inv.SentAt.AddDate(0, 0, 31))
	if n, err := e.s.Expire(ctx); err != nil || n != 1 {
		t.Fatalf("Expire = %d, %v", n, err)
	}
	if err := e.run(inv.ID, 2); err != nil || e.inv(inv.ID).Status != StatusExpired {
		t.Fatalf("after expiry: %v %+v", err, e.inv(inv.ID))
	}
}

func TestChecksAtScheduleAndSend(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Options{})
	e.rule(func(r *Rule) { r.Channels = []string{Email, SMS} })
	now := e.clock.now()

	noAddress := e.contact(contact.Input{FirstName: "Nobody"})
	if sc := e.event(noAddress, now); sc.Status != StatusFailed || sc.Reason != ReasonNoAddress {
		t.Errorf("no address: %+v", sc)
	}
	phoneOnly := e.contact(contact.Input{Phone: "+33612345678"})
	if sc := e.event(phoneOnly, now); sc.Status != StatusScheduled {
		t.Errorf("phone only: %+v", sc)
	} else if e.inv(sc.InvitationID).Channel != SMS {
		t.Errorf("phone only goes by %s", e.inv(sc.InvitationID).Channel)
	}

	// Frequency cap: a second event for the same person within 30 days.
	cid := e.contact(contact.Input{Email: "jean@example.fr"})
	first := e.event(cid, now)
	if second := e.event(cid, now.Add(time.Hour)); second.Status != StatusCapped {
		t.Errorf("second event: %+v", second)
	}
	// Suppression after scheduling is checked when sending.
	reach, _ := e.contacts.Reachability(ctx, nil, e.tenant.ID, cid)
	if err := privacy.Suppress(ctx, e.db.W, e.tenant.ID, reach.EmailIndex, privacy.SuppressEmail, privacy.ReasonUnsubscribed); err != nil {
		t.Fatal(err)
	}
	if err := e.run(first.InvitationID, 0); err != nil {
		t.Fatal(err)
	}
	if inv := e.inv(first.InvitationID); inv.Status != StatusSuppressed || inv.Reason != privacy.ReasonUnsubscribed {
		t.Errorf("suppressed after scheduling: %+v", inv)
	}

	// Erased before sending.
	gone := e.contact(contact.Input{Email: "gone@example.fr"})
	sc := e.event(gone, now)
	if err := e.contacts.Erase(ctx, sys, e.tenant.ID, gone); err != nil {
		t.Fatal(err)
	}
	if err := e.run(sc.InvitationID, 0); err != nil {
		t.Fatal(err)
	}
	if inv := e.inv(sc.InvitationID); inv.Status != StatusSuppressed || inv.Reason != ReasonErased {
		t.Errorf("erased: %+v", inv)
	}

	// Restriction of processing (GDPR Art. 18): checked when scheduling,
	// and again when sending; lifting it lets the next event through.
	held := e.contact(contact.Input{Email: "held@example.fr"})
	if err := e.contacts.Restrict(ctx, sys, e.tenant.ID, held, true); err != nil {
		t.Fatal(err)
	}
	if sc := e.event(held, now); sc.Status != StatusSuppressed || sc.Reason != ReasonRestricted {
		t.Errorf("restricted when scheduling: %+v", sc)
	}
	if err := e.contacts.Restrict(ctx, sys, e.tenant.ID, held, false); err != nil {
		t.Fatal(err)
	}
	later := e.event(held, now.Add(time.Minute))
	if later.Status != StatusScheduled {
		t.Fatalf("after lifting the restriction: %+v", later)
	}
	if err := e.contacts.Restrict(ctx, sys, e.tenant.ID, held, true); err != nil {
		t.Fatal(err)
	}
	if err := e.run(later.InvitationID, 0); err != nil {
		t.Fatal(err)
	}
	if inv := e.inv(later.InvitationID); inv.Status != StatusSuppressed || inv.Reason != ReasonRestricted {
		t.Errorf("restricted after scheduling: %+v", inv)
	}
}

func TestSendWindowSnoozes(t *testing.T) {
	e := newEnv(t, Options{})
	e.rule(nil)
	cid := e.contact(contact.Input{Email: "late@example.fr", TimeZone: "Europe/Paris"})
	// 22:30 in Paris: the email window (08:00–21:00) is closed.
	late := time.Date(2026, 6, 9, 20, 30, 0, 0, time.UTC)
	e.clock.set(late)
	sc := e.event(cid, late)
	paris, _ := time.LoadLocation("Europe/Paris")
	if want := time.Date(2026, 6, 10, 8, 0, 0, 0, paris); !sc.DueAt.Equal(want) {
		t.Fatalf("due %v, want %v", sc.DueAt, want)
	}
	// A job run early (clock skew, manual retry) snoozes until the window.
	err := e.run(sc.InvitationID, 0)
	var snooze *snoozeError
	if !errors.As(err, &snooze) || snooze.d != 9*time.Hour+30*time.Minute {
		t.Fatalf("run at 22:30 = %v, want a snooze of 9h30", err)
	}
	if e.inv(sc.InvitationID).Status != StatusScheduled {
		t.Fatal("status changed while snoozed")
	}
}

func TestSampling(t *testing.T) {
	in := 0
	for i := 0; i < 2000; i++ {
		if sampled(db.NewID(), 25) {
			in++
		}
	}
	if in < 400 || in > 600 {
		t.Fatalf("25%% sampling kept %d of 2000", in)
	}
	for range 100 {
		if !sampled(db.NewID(), 100) {
			t.Fatal("a 100% rule left an event out")
		}
	}
}

func TestUnsubscribeByToken(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Options{})
	e.rule(nil)
	cid := e.contact(contact.Input{Email: "unsub@example.fr"})
	sc := e.event(cid, e.clock.now())
	if err := e.run(sc.InvitationID, 0); err != nil {
		t.Fatal(err)
	}
	token, _ := e.s.token(ctx, nil, e.tenant.ID, sc.InvitationID)
	for range 2 { // idempotent
		if tid, ch, err := e.s.Unsubscribe(ctx, token); err != nil || tid != e.tenant.ID || ch != Email {
			t.Fatalf("Unsubscribe = %s %s %v", tid, ch, err)
		}
	}
	reach, _ := e.contacts.Reachability(ctx, nil, e.tenant.ID, cid)
	if sup, why, _ := privacy.Suppressed(ctx, e.db.R, e.tenant.ID, reach.EmailIndex); !sup || why != privacy.ReasonUnsubscribed {
		t.Fatalf("suppressed = %v %s", sup, why)
	}
	// The CRM hears of it once (contact.unsubscribed), by the contact.
	if got := e.events(); len(got) != 1 || got[0].Type != feed.ContactUnsubscribed || got[0].ObjectID != cid {
		t.Fatalf("feed events after unsubscribing twice: %+v", got)
	}
	// The next event for this person is suppressed at once.
	e.clock.set(e.clock.now().AddDate(0, 2, 0))
	if sc := e.event(cid, e.clock.now()); sc.Status != StatusSuppressed {
		t.Fatalf("after unsubscribe: %+v", sc)
	}
	if _, _, err := e.s.Unsubscribe(ctx, "not-a-token"); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("bad token: %v", err)
	}
}

// decodeQP returns the decoded text and HTML parts of a built message.
func decodeQP(raw string) string {
	msg, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		return ""
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	var out strings.Builder
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(p) // multipart decodes quoted-printable
		out.Write(b)
	}
	return out.String()
}

func TestRunDueSendsEachOnce(t *testing.T) {
	ctx := context.Background()
	e, srv, _ := smtpEnv(t)
	e.rule(nil)
	srv.Reject("later@example.org", 451)
	var ids []string
	for i := range 300 {
		ids = append(ids, e.contact(contact.Input{Email: fmt.Sprintf("p%03d@example.org", i)}))
	}
	later := e.contact(contact.Input{Email: "later@example.org"})
	ids = append(ids, later)
	var scs []Scheduled
	for _, id := range ids {
		scs = append(scs, e.event(id, e.clock.now()))
	}
	// Two runs at once, as two worker processes would.
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.s.RunDue(ctx, e.tenant.ID); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := srv.Count(); n != 300 {
		t.Fatalf("the relay got %d messages, want 300", n)
	}
	seen := map[string]int{}
	for _, m := range srv.Messages() {
		seen[m.To[0]]++
	}
	for to, k := range seen {
		if k != 1 {
			t.Errorf("%s got %d messages", to, k)
		}
	}
	// The 451 went back to the queue with a later due time.
	inv := e.inv(scs[len(scs)-1].InvitationID)
	if inv.Status != StatusScheduled || inv.Attempts != 1 || !inv.DueAt.After(e.clock.now()) {
		t.Fatalf("after a 451: %+v", inv)
	}
	// Nothing else is due.
	if n, err := e.s.RunDue(ctx, e.tenant.ID); err != nil || n != 0 {
		t.Fatalf("second run handled %d, %v", n, err)
	}
	// When its time comes, the relay takes it.
	srv.Reject("later@example.org", 0)
	e.clock.set(inv.DueAt)
	if n, err := e.s.RunDue(ctx, e.tenant.ID); err != nil || n != 1 || e.inv(inv.ID).Status != StatusSent {
		t.Fatalf("retry run: %d, %v, %+v", n, err, e.inv(inv.ID))
	}
}

func TestScheduleBatchCapsWithinTheBatch(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Options{})
	e.rule(nil)
	cid := e.contact(contact.Input{Email: "twice@example.org"})
	other := e.contact(contact.Input{Email: "once@example.org"})
	var got []Scheduled
	err := e.db.Tx(ctx, func(tx *sql.Tx) error {
		var tps []journey.Touchpoint
		for _, c := range []string{cid, cid, other} {
			tp, _, err := e.journeys.Record(ctx, tx, e.tenant.ID, journey.Event{ContactID: c, StepKey: "delivery", OccurredAt: e.clock.now(), SourceKind: "test", SourceID: "t"})
			if err != nil {
				return err
			}
			tps = append(tps, tp)
		}
		var err error
		got, err = e.s.Schedule(ctx, tx, e.tenant.ID, tps)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Status != StatusScheduled || got[1].Status != StatusCapped || got[2].Status != StatusScheduled {
		t.Fatalf("Schedule = %+v", got)
	}
}

func TestTenantRateLimit(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Options{TenantRate: 1})
	e.rule(func(r *Rule) { r.CapDays = 0 })
	a := e.event(e.contact(contact.Input{Email: "first@example.org"}), e.clock.now())
	b := e.event(e.contact(contact.Input{Email: "second@example.org"}), e.clock.now())
	if err := e.run(a.InvitationID, 0); err != nil {
		t.Fatal(err)
	}
	// One message per second: the second cannot go within 100 ms.
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := e.s.send(short, SendArgs{TenantID: e.tenant.ID, InvitationID: b.InvitationID}, false, nil); err == nil {
		t.Fatal("the second message went out at once despite a rate of 1 per second")
	}
	if got := e.inv(b.InvitationID); got.Status != StatusScheduled {
		t.Fatalf("held message: %+v", got)
	}
}

func TestSMSPreviewShowsSegmentsAndCost(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Options{})
	cfg := `{"type":"twilio","from":"Boutique","account_sid":"AC0123456789abcdef0123456789abcdef","auth_token":"secret-token-1234",
		"base_url":"http://127.0.0.1:9","prices_per_segment":{"FR":0.065,"*":0.12}}`
	if _, err := e.s.SaveSettings(ctx, sys, e.tenant.ID, SettingsUpdate{SMSConfig: &cfg}); err != nil {
		t.Fatal(err)
	}
	bad := `{"type":"twilio","account_sid":"AC0123456789abcdef0123456789abcdef","auth_token":"x","prices_per_segment":{"France":1}}`
	if _, err := e.s.SaveSettings(ctx, sys, e.tenant.ID, SettingsUpdate{SMSConfig: &bad}); !errors.Is(err, ErrInvalidSettings) {
		t.Fatalf("a bad price table was saved: %v", err)
	}
	r := e.rule(func(r *Rule) {
		r.Channels = []string{SMS}
		r.Texts = map[string]Texts{"fr": {SMS: "Bonjour {{ first_name }}, votre avis sur votre livraison ? Ça prend une minute : {{ survey_link }}"}}
	})
	cid := e.contact(contact.Input{Phone: "+33612345678", FirstName: "Élodie", Language: "fr"})
	m, err := e.s.Preview(ctx, sys, e.tenant.ID, r, cid)
	if err != nil {
		t.Fatal(err)
	}
	// É and Ç are in the GSM 03.38 alphabet: 179 characters, 2 segments.
	if m.Channel != SMS || m.Info.Encoding != "GSM-7" || m.Info.Segments != 2 || !m.Cost.Known || m.Cost.Country != "FR" ||
		m.Cost.Total < 0.129 || m.Cost.Total > 0.131 || !strings.Contains(m.SMS.Text, "STOP") {
		t.Fatalf("SMS preview: %+v %+v %q", m.Info, m.Cost, m.SMS.Text)
	}
}

// TestRunDueChecksAtSending: a run reads its batch at once, and still
// suppresses an erased person and an address unsubscribed after scheduling.
func TestRunDueChecksAtSending(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Options{})
	e.rule(nil)
	ok := e.event(e.contact(contact.Input{Email: "ok@example.org"}), e.clock.now())
	gone := e.contact(contact.Input{Email: "gone@example.org"})
	erased := e.event(gone, e.clock.now())
	unsub := e.contact(contact.Input{Email: "unsub@example.org"})
	stopped := e.event(unsub, e.clock.now())
	if err := e.contacts.Erase(ctx, sys, e.tenant.ID, gone); err != nil {
		t.Fatal(err)
	}
	reach, _ := e.contacts.Reachability(ctx, nil, e.tenant.ID, unsub)
	if err := privacy.Suppress(ctx, e.db.W, e.tenant.ID, reach.EmailIndex, privacy.SuppressEmail, privacy.ReasonUnsubscribed); err != nil {
		t.Fatal(err)
	}
	held := e.contact(contact.Input{Email: "held@example.org"})
	restricted := e.event(held, e.clock.now())
	if err := e.contacts.Restrict(ctx, sys, e.tenant.ID, held, true); err != nil {
		t.Fatal(err)
	}
	if n, err := e.s.RunDue(ctx, e.tenant.ID); err != nil || n != 4 {
		t.Fatalf("RunDue = %d, %v", n, err)
	}
	for _, c := range []struct {
		id, status, reason string
	}{{ok.InvitationID, StatusSent, ""}, {erased.InvitationID, StatusSuppressed, ReasonErased},
		{stopped.InvitationID, StatusSuppressed, privacy.ReasonUnsubscribed},
		{restricted.InvitationID, StatusSuppressed, ReasonRestricted}} {
		if inv := e.inv(c.id); inv.Status != c.status || inv.Reason != c.reason {
			t.Errorf("invitation %s: %s %q, want %s %q", c.id, inv.Status, inv.Reason, c.status, c.reason)
		}
	}
}
