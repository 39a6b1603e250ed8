package journey_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"avis/internal/audit"
	"avis/internal/db"
	"avis/internal/db/dbtest"
	"avis/internal/journey"
)

func setup(t *testing.T) (*journey.Store, *db.DB) {
	t.Helper()
	d := dbtest.Open(t)
	for _, id := range []string{"a", "b"} {
		if _, err := d.W.Exec(`INSERT INTO tenants (id, slug, name, created_at) VALUES ($1, $1, $1, 1)`, id); err != nil {
			t.Fatal(err)
		}
	}
	return journey.NewStore(d, audit.New(d)), d
}

var sys = audit.System("test")

func TestJourneysAndSteps(t *testing.T) {
	ctx := context.Background()
	s, _ := setup(t)
	j, err := s.CreateJourney(ctx, sys, "a", "Online order", []journey.StepInput{{"order", "Order"}, {"delivery", "Delivery"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddStep(ctx, sys, "a", j.ID, journey.StepInput{Key: "after-sales", Name: "After-sales"}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		tenant string
		in     journey.StepInput
		want   error
	}{
		{"duplicate key", "a", journey.StepInput{Key: "order", Name: "Again"}, db.ErrConflict},
		{"bad key", "a", journey.StepInput{Key: "Order Step", Name: "x"}, journey.ErrInvalidKey},
		{"empty name", "a", journey.StepInput{Key: "x", Name: " "}, journey.ErrInvalidName},
		{"other tenant's journey", "b", journey.StepInput{Key: "x", Name: "x"}, db.ErrNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := s.AddStep(ctx, sys, c.tenant, j.ID, c.in); !errors.Is(err, c.want) {
				t.Fatalf("AddStep = %v, want %v", err, c.want)
			}
		})
	}
	js, err := s.Journeys(ctx, "a")
	if err != nil || len(js) != 1 || len(js[0].Steps) != 3 || js[0].Steps[2].Key != "after-sales" || js[0].Steps[2].Position != 2 {
		t.Fatalf("Journeys = %+v, %v", js, err)
	}
	if js, _ := s.Journeys(ctx, "b"); len(js) != 0 {
		t.Fatal("tenant b sees tenant a's journey")
	}
	if _, err := s.StepByKey(ctx, "b", "order"); !errors.Is(err, journey.ErrUnknownStep) {
		t.Fatalf("other tenant's step: %v", err)
	}
}

func TestRecordEvents(t *testing.T) {
	ctx := context.Background()
	s, d := setup(t)
	if _, err := s.CreateJourney(ctx, sys, "a", "Shop", []journey.StepInput{{"order", "Order"}, {"delivery", "Delivery"}}); err != nil {
		t.Fatal(err)
	}
	record := func(tenant string, e journey.Event) (journey.Touchpoint, bool, error) {
		var tp journey.Touchpoint
		var created bool
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			var err error
			tp, created, err = s.Record(ctx, tx, tenant, e)
			return err
		})
		return tp, created, err
	}
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	tp1, created, err := record("a", journey.Event{ContactID: "c1", StepKey: "delivery", OccurredAt: t0.Add(time.Hour), IdempotencyKey: "ev-1", Attributes: map[string]string{"store": "Lyon"}})
	if err != nil || !created {
		t.Fatalf("first event: %v %v", created, err)
	}
	again, created, err := record("a", journey.Event{ContactID: "c1", StepKey: "delivery", OccurredAt: t0, IdempotencyKey: "ev-1"})
	if err != nil || created || again.ID != tp1.ID {
		t.Fatalf("retried event created a second touchpoint: %v %v", created, err)
	}
	if _, _, err := record("a", journey.Event{ContactID: "c1", StepKey: "order", OccurredAt: t0}); err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		name string
		e    journey.Event
		want error
	}{
		{"unknown step", journey.Event{ContactID: "c1", StepKey: "nope"}, journey.ErrUnknownStep},
		{"email in attributes", journey.Event{ContactID: "c1", StepKey: "order", Attributes: map[string]string{"who": "jean@example.fr"}}, journey.ErrInvalidAttribute},
		{"phone in attributes", journey.Event{ContactID: "c1", StepKey: "order", Attributes: map[string]string{"tel": "06 12 34 56 78"}}, journey.ErrInvalidAttribute},
		{"bad attribute key", journey.Event{ContactID: "c1", StepKey: "order", Attributes: map[string]string{"a b": "x"}}, journey.ErrInvalidAttribute},
		{"other tenant's step", journey.Event{ContactID: "c1", StepKey: "order"}, journey.ErrUnknownStep},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			tenant := "a"
			if c.name == "other tenant's step" {
				tenant = "b"
			}
			if _, _, err := record(tenant, c.e); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
	if _, _, err := record("a", journey.Event{ContactID: "c1", StepKey: "order", Attributes: map[string]string{"amount": "129.90", "date": "2026-11-02"}}); err != nil {
		t.Fatalf("ordinary attributes refused: %v", err)
	}
	tps, err := s.Touchpoints(ctx, "a", "c1")
	if err != nil || len(tps) != 3 || tps[0].StepKey != "order" || tps[1].Attributes["store"] != "Lyon" {
		t.Fatalf("touchpoints = %+v, %v", tps, err)
	}
}
