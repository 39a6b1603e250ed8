package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"avis/internal/db"
)

// count returns how many entries tenant has.
func count(t testing.TB, d *db.DB, tenant string) (n, minSeq, maxSeq int64) {
	t.Helper()
	var lo, hi sql.NullInt64
	err := d.R.QueryRowContext(context.Background(),
		`SELECT count(*), min(seq), max(seq) FROM audit_log WHERE tenant_id = $1`, tenant).Scan(&n, &lo, &hi)
	if err != nil {
		t.Fatalf("count entries: %v", err)
	}
	return n, lo.Int64, hi.Int64
}

func TestRecordFollowsTransaction(t *testing.T) {
	ctx := context.Background()
	d, l := open(t)
	boom := errors.New("boom")
	tenantRow := func(tx *sql.Tx, id string) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO tenants (id, slug, name, created_at) VALUES ($1, $1, 'Shop', $2)`, id, db.Now())
		return err
	}
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		if err := tenantRow(tx, "t1"); err != nil {
			return err
		}
		if err := l.Record(ctx, tx, Entry{TenantID: "t1", Actor: System(""), Action: "tenant.create", ObjectKind: "tenant", ObjectID: "t1"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Tx = %v, want boom", err)
	}
	if n, _, _ := count(t, d, "t1"); n != 0 {
		t.Fatalf("after rollback the log holds %d entries, want 0", n)
	}

	err = d.Tx(ctx, func(tx *sql.Tx) error {
		if err := tenantRow(tx, "t1"); err != nil {
			return err
		}
		return l.Record(ctx, tx, Entry{TenantID: "t1", Actor: System(""), Action: "tenant.create", ObjectKind: "tenant", ObjectID: "t1"})
	})
	if err != nil {
		t.Fatalf("Tx: %v", err)
	}
	recs, err := l.List(ctx, "t1", Filter{})
	if err != nil || len(recs) != 1 || recs[0].Seq != 1 || recs[0].Action != "tenant.create" {
		t.Fatalf("after commit List = %+v, %v; want the one entry at seq 1", recs, err)
	}

	// A pool given as q is used like nil: a transaction of Record's own.
	if err := l.Record(ctx, d.W, testEntry("t1", 2)); err != nil {
		t.Fatalf("Record with a *sql.DB: %v", err)
	}
	if n, _, hi := count(t, d, "t1"); n != 2 || hi != 2 {
		t.Errorf("entries = %d up to seq %d, want 2 up to seq 2", n, hi)
	}
	if err := l.Verify(ctx, "t1"); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

func TestRecordRefusesPersonalData(t *testing.T) {
	ok := func(mod func(e *Entry)) Entry {
		e := Entry{TenantID: "t1", Actor: Actor{Kind: ActorUser, ID: "01jqz8x5m3c7b2k9w4n6r0t1vy"}, Action: "contact.read",
			ObjectKind: "contact", ObjectID: "01jqz8x5m3c7b2k9w4n6r0t1vz", SubjectID: "01jqz8x5m3c7b2k9w4n6r0t1vz"}
		mod(&e)
		return e
	}
	detail := func(k, v string) func(e *Entry) {
		return func(e *Entry) { e.Detail = map[string]string{k: v} }
	}
	tests := []struct {
		name    string
		entry   Entry
		wantErr error // nil: accepted
		secret  string
	}{
		{"email in detail", ok(detail("to", "jane.doe@example.com")), ErrPersonalData, "jane"},
		{"email as subject", ok(func(e *Entry) { e.SubjectID = "jane.doe@example.com" }), ErrPersonalData, "jane"},
		{"email as actor", ok(func(e *Entry) { e.Actor.ID = "jane@example.com" }), ErrPersonalData, "jane"},
		{"email as object", ok(func(e *Entry) { e.ObjectID = "jane@example.com" }), ErrPersonalData, "jane"},
		{"email as detail key", ok(detail("jane@example.com", "1")), ErrPersonalData, "jane"},
		{"French mobile", ok(detail("phone", "0612345678")), ErrPersonalData, "0612345678"},
		{"spaced mobile", ok(detail("phone", "06 12 34 56 78")), ErrPersonalData, "34 56"},
		{"E.164", ok(detail("phone", "+33612345678")), ErrPersonalData, "612345678"},
		{"international with parentheses", ok(detail("phone", "+33 (0)6 12 34 56 78")), ErrPersonalData, "34 56"},
		{"US style", ok(detail("phone", "(555) 123-4567")), ErrPersonalData, "4567"},
		{"dotted", ok(detail("phone", "06.12.34.56.78")), ErrPersonalData, "56.78"},
		{"phone in text", ok(detail("note", "call 0612345678 now")), ErrPersonalData, "0612345678"},
		{"IP address", ok(detail("ip", "192.168.100.200")), ErrPersonalData, "192.168"},
		{"long value", ok(detail("text", strings.Repeat("x", 201))), ErrPersonalData, "xxxx"},
		{"long id", ok(func(e *Entry) { e.ObjectID = strings.Repeat("a", 201) }), ErrPersonalData, "aaaa"},

		{"ids", ok(func(*Entry) {}), nil, ""},
		{"digits inside an id", ok(func(e *Entry) { e.ObjectID = "01jqz812345678b2k9w4n6r0t1" }), nil, ""},
		{"hex token", ok(detail("token", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")), nil, ""},
		{"count", ok(detail("rows", "1200000")), nil, ""},
		{"microseconds", ok(detail("until", "1767225600000000")), nil, ""},
		{"date", ok(detail("day", "2026-01-31")), nil, ""},
		{"time", ok(detail("at", "2026-01-31T10:00:00Z")), nil, ""},
		{"reason code", ok(detail("reason", "bad_password")), nil, ""},
		{"200 bytes", ok(detail("text", strings.Repeat("x", 200))), nil, ""},
		{"system actor", ok(func(e *Entry) { e.Actor = System("retention") }), nil, ""},
		{"public actor without id", ok(func(e *Entry) { e.Actor = Actor{Kind: ActorPublic} }), nil, ""},
	}
	ctx := context.Background()
	d, l := open(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.entry.TenantID = fmt.Sprintf("t%d", i) // a chain of its own
			err := l.Record(ctx, nil, tt.entry)
			n, _, _ := count(t, d, tt.entry.TenantID)
			if tt.wantErr == nil {
				if err != nil || n != 1 {
					t.Fatalf("Record = %v with %d entries stored, want it accepted", err, n)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Record = %v, want %v", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), tt.secret) {
				t.Errorf("error %q repeats the refused value", err)
			}
			if n != 0 {
				t.Errorf("refused entry was stored (%d entries)", n)
			}
		})
	}
}

func TestRecordRefusesInvalidEntries(t *testing.T) {
	tests := []struct {
		name  string
		entry Entry
	}{
		{"unknown actor kind", Entry{Actor: Actor{Kind: "robot", ID: "r1"}, Action: "x.y"}},
		{"no actor kind", Entry{Actor: Actor{ID: "r1"}, Action: "x.y"}},
		{"no action", Entry{Actor: System("")}},
		{"invalid UTF-8", Entry{Actor: System(""), Action: "x.y", ObjectID: "\xff"}},
		{"NUL byte", Entry{Actor: System(""), Action: "x.y", Detail: map[string]string{"k": "a\x00b"}}},
	}
	ctx := context.Background()
	d, l := open(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := l.Record(ctx, nil, tt.entry)
			if err == nil || errors.Is(err, ErrPersonalData) {
				t.Errorf("Record = %v, want an invalid-entry error", err)
			}
		})
	}
	if n, _, _ := count(t, d, ""); n != 0 {
		t.Errorf("%d invalid entries stored", n)
	}
}

func TestRecordConcurrent(t *testing.T) {
	const workers, each = 8, 50
	ctx := context.Background()
	d, l := open(t)
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if err := l.Record(ctx, nil, testEntry("t1", w*each+i)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	// Another tenant's chain grows at the same time.
	wg.Go(func() {
		for i := range each {
			if err := l.Record(ctx, nil, testEntry("t2", i)); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Record: %v", err)
	}
	if n, lo, hi := count(t, d, "t1"); n != workers*each || lo != 1 || hi != workers*each {
		t.Fatalf("t1 holds %d entries, seq %d..%d; want %d contiguous from 1", n, lo, hi, workers*each)
	}
	if err := l.Verify(ctx, "t1"); err != nil {
		t.Fatalf("Verify after concurrent appends: %v", err)
	}
	checked, breaks, err := l.VerifyAll(ctx)
	if err != nil || len(breaks) != 0 || checked != workers*each+each {
		t.Fatalf("VerifyAll = %d, %v, %v; want %d, no break", checked, breaks, err, workers*each+each)
	}
}

// BenchmarkRecord measures appends to one tenant's chain, each in a
// transaction of its own, and reports entries/s.
func BenchmarkRecord(b *testing.B) {
	ctx := context.Background()
	_, l := open(b)
	e := testEntry("t1", 1)
	for b.Loop() {
		if err := l.Record(ctx, nil, e); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkRecordParallel measures appends from many goroutines, spread over
// 16 tenants, and reports entries/s.
func BenchmarkRecordParallel(b *testing.B) {
	ctx := context.Background()
	_, l := open(b)
	var mu sync.Mutex
	next := 0
	b.RunParallel(func(pb *testing.PB) {
		mu.Lock()
		e := testEntry(string(rune('a'+next%16)), next)
		next++
		mu.Unlock()
		for pb.Next() {
			if err := l.Record(ctx, nil, e); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}
