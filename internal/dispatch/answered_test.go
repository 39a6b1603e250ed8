package dispatch

import (
	"context"
	"testing"
	"time"

	"avis/internal/contact"
)

// TestAnsweredStopsReminders answers a sent invitation and checks that its
// reminder then sends nothing, that answering twice changes nothing, and
// that the expiry job leaves it answered.
func TestAnsweredStopsReminders(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Options{})
	e.rule(func(r *Rule) { r.Reminders = 2 })
	cid := e.contact(contact.Input{Email: "ada@example.fr", FirstName: "Ada", Language: "fr", TimeZone: "Europe/Paris"})
	sc := e.event(cid, e.clock.now())
	if err := e.run(sc.InvitationID, 0); err != nil {
		t.Fatal(err)
	}
	inv := e.inv(sc.InvitationID)
	if inv.Status != StatusSent || !Answerable(inv, e.clock.now()) || Expired(inv, e.clock.now()) {
		t.Fatalf("after send: %+v", inv)
	}
	at := e.clock.now().Add(time.Hour)
	ok, err := MarkAnswered(ctx, e.db.W, e.tenant.ID, inv.ID, at)
	if err != nil || !ok {
		t.Fatalf("MarkAnswered = %v, %v", ok, err)
	}
	if ok, err := MarkAnswered(ctx, e.db.W, e.tenant.ID, inv.ID, at.Add(time.Hour)); err != nil || ok {
		t.Fatalf("second MarkAnswered = %v, %v", ok, err)
	}
	inv = e.inv(inv.ID)
	if inv.Status != StatusAnswered || !inv.AnsweredAt.Equal(at) || Answerable(inv, at) || Expired(inv, inv.ExpiresAt.Add(time.Hour)) {
		t.Fatalf("after answer: %+v", inv)
	}
	// The reminder job comes: nothing is sent.
	e.clock.set(inv.SentAt.AddDate(0, 0, 3))
	if err := e.run(inv.ID, 1); err != nil {
		t.Fatal(err)
	}
	box, err := e.s.Outbox(ctx, e.tenant.ID, "", 10)
	if err != nil || len(box) != 1 {
		t.Fatalf("outbox after the reminder's time: %d messages, %v; want only the invitation", len(box), err)
	}
	if got := e.inv(inv.ID); got.RemindersSent != 0 || got.Status != StatusAnswered {
		t.Fatalf("after the reminder's time: %+v", got)
	}
	// Expiry leaves an answered invitation alone.
	e.clock.set(inv.ExpiresAt.Add(time.Hour))
	if n, err := e.s.Expire(ctx); err != nil || n != 0 {
		t.Fatalf("Expire = %d, %v", n, err)
	}
	// An expired one is not answerable, and cannot be marked answered.
	cid2 := e.contact(contact.Input{Email: "grace@example.fr", Language: "fr"})
	e.clock.set(time.Date(2026, 6, 9, 10, 0, 0, 0, time.UTC))
	sc2 := e.event(cid2, e.clock.now())
	if err := e.run(sc2.InvitationID, 0); err != nil {
		t.Fatal(err)
	}
	inv2 := e.inv(sc2.InvitationID)
	late := inv2.ExpiresAt.Add(time.Minute)
	if Answerable(inv2, late) || !Expired(inv2, late) {
		t.Fatalf("past its expiry: answerable %v, expired %v", Answerable(inv2, late), Expired(inv2, late))
	}
	e.clock.set(late)
	if _, err := e.s.Expire(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, err := MarkAnswered(ctx, e.db.W, e.tenant.ID, inv2.ID, late); err != nil || ok {
		t.Fatalf("MarkAnswered on an expired invitation = %v, %v", ok, err)
	}
}
