package feed_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"avis/internal/db"
	"avis/internal/db/dbtest"
	"avis/internal/feed"
)

func newFeed(t *testing.T, tenants ...string) (*db.DB, *feed.Feed) {
	t.Helper()
	d := dbtest.Open(t)
	for _, id := range tenants {
		if _, err := d.W.Exec(`INSERT INTO tenants (id, slug, name, created_at) VALUES ($1, $1, 'Shop', $2)`, id, db.Now()); err != nil {
			t.Fatal(err)
		}
	}
	return d, feed.New(d)
}

// TestReaderNeverSkips has writers emit events while a reader pages with
// a cursor, each writer pausing between taking its number and committing:
// the reader ends with every event exactly once, in order, although
// numbers were taken by transactions that committed at different times.
func TestReaderNeverSkips(t *testing.T) {
	ctx := context.Background()
	d, f := newFeed(t, "t1", "t2")
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				tenant := "t1"
				if i%5 == 4 {
					tenant = "t2"
				}
				err := d.Tx(ctx, func(tx *sql.Tx) error {
					if err := f.Emit(ctx, tx, tenant, feed.Event{Type: feed.ResponseCreated, ObjectID: fmt.Sprintf("r%d-%d", w, i)}); err != nil {
						return err
					}
					time.Sleep(time.Duration(i%3) * time.Millisecond)
					return nil
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	seen := map[string]int{}
	var cursor int64
	var order []int64
	read := func() {
		for {
			evs, err := f.After(ctx, "t1", cursor, 7)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				seen[e.ObjectID]++
				order = append(order, e.Seq)
				cursor = e.Seq
			}
			if len(evs) < 7 {
				return
			}
		}
	}
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		read()
	}
	read()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := writers * each * 4 / 5
	if len(seen) != want || len(order) != want {
		t.Fatalf("reader saw %d events (%d distinct), want %d", len(order), len(seen), want)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("event of %s read %d times", id, n)
		}
	}
	for i, seq := range order {
		if seq != int64(i+1) {
			t.Fatalf("event %d has number %d: numbers of a tenant must have no gap", i, seq)
		}
	}
}

// TestEmitRollsBackWithItsTransaction shows that an event, its number and
// what the hooks wrote vanish with a transaction that rolls back, and
// that a failing hook fails the change.
func TestEmitRollsBackWithItsTransaction(t *testing.T) {
	ctx := context.Background()
	d, f := newFeed(t, "t1")
	var hooked []string
	fail := false
	f.OnEmit(func(ctx context.Context, tx *sql.Tx, tenantID string, evs []feed.Event) error {
		if fail {
			return errors.New("hook refused")
		}
		for _, e := range evs {
			hooked = append(hooked, tenantID+":"+e.Type+":"+e.ObjectID)
		}
		return nil
	})
	boom := errors.New("boom")
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		if err := f.Emit(ctx, tx, "t1", feed.Event{Type: feed.SubjectErased, ObjectID: "c1", ExternalID: "CRM-1"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("transaction: %v", err)
	}
	fail = true
	err = d.Tx(ctx, func(tx *sql.Tx) error {
		return f.Emit(ctx, tx, "t1", feed.Event{Type: feed.ResponseCreated, ObjectID: "r1"})
	})
	if err == nil {
		t.Fatal("a failing hook did not fail the change")
	}
	fail = false
	err = d.Tx(ctx, func(tx *sql.Tx) error {
		return f.Emit(ctx, tx, "t1", feed.Event{Type: feed.ContactUnsubscribed, ObjectID: "c2", ContactID: "c2"},
			feed.Event{Type: feed.InvitationBounced, ObjectID: "i1", ContactID: "c2"})
	})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := f.After(ctx, "t1", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Seq != 1 || evs[1].Seq != 2 || evs[0].Type != feed.ContactUnsubscribed || evs[1].ObjectID != "i1" {
		t.Fatalf("events after rollbacks: %+v", evs)
	}
	if evs[0].ID == "" || evs[0].ID == evs[1].ID || evs[0].At.IsZero() {
		t.Errorf("events need distinct ids and a time: %+v", evs)
	}
	if len(hooked) != 3 || hooked[1] != "t1:contact.unsubscribed:c2" {
		t.Errorf("hooks saw %v", hooked)
	}
}

// TestReserve hands out consecutive numbers per tenant.
func TestReserve(t *testing.T) {
	ctx := context.Background()
	d, _ := newFeed(t, "a", "b")
	for _, tc := range []struct {
		tenant string
		n      int
		first  int64
	}{{"a", 3, 1}, {"a", 1, 4}, {"b", 2, 1}, {"a", 10, 5}, {"b", 1, 3}} {
		got, err := feed.Reserve(ctx, d.W, tc.tenant, tc.n)
		if err != nil || got != tc.first {
			t.Errorf("Reserve(%s, %d) = %d, %v; want %d", tc.tenant, tc.n, got, err, tc.first)
		}
	}
	if _, err := feed.Reserve(ctx, d.W, "a", 0); err == nil {
		t.Error("Reserve of no number succeeded")
	}
}
