package audit

import (
	"bytes"
	"context"
	"database/sql"
	"reflect"
	"testing"
	"time"
)

func TestListFieldsAndOrder(t *testing.T) {
	ctx := context.Background()
	_, l := open(t)
	before := time.Now().Add(-time.Second)
	entries := []Entry{
		{TenantID: "t1", Actor: System(""), Action: "tenant.create", ObjectKind: "tenant", ObjectID: "t1"},
		{TenantID: "t1", Actor: Actor{Kind: ActorUser, ID: "u1"}, Action: "contact.read", ObjectKind: "contact",
			ObjectID: "c1", SubjectID: "c1", Detail: map[string]string{"fields": "email,phone", "reason": "support"}},
		{TenantID: "t1", Actor: Actor{Kind: ActorAPIKey, ID: "k1"}, Action: "contact.update", ObjectKind: "contact",
			ObjectID: "c2", SubjectID: "c2", Detail: map[string]string{"count": "1"}},
	}
	for _, e := range entries {
		if err := l.Record(ctx, nil, e); err != nil {
			t.Fatalf("Record: %v", err)
		}
	}
	// Another tenant's entry must not show.
	if err := l.Record(ctx, nil, Entry{TenantID: "t2", Actor: System("x"), Action: "contact.read", SubjectID: "c1"}); err != nil {
		t.Fatal(err)
	}
	after := time.Now().Add(time.Second)

	got, err := l.List(ctx, "t1", Filter{})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(got) != len(entries) {
		t.Fatalf("List returned %d records, want %d", len(got), len(entries))
	}
	for i, rec := range got {
		want := entries[len(entries)-1-i]
		if !reflect.DeepEqual(rec.Entry, want) {
			t.Errorf("record %d: entry = %+v, want %+v", i, rec.Entry, want)
		}
		if wantSeq := int64(len(entries) - i); rec.Seq != wantSeq {
			t.Errorf("record %d: seq = %d, want %d (newest first)", i, rec.Seq, wantSeq)
		}
		if rec.At.Before(before) || rec.At.After(after) || rec.At.Location() != time.UTC {
			t.Errorf("record %d: at = %v, want a UTC time between %v and %v", i, rec.At, before, after)
		}
		if len(rec.Hash) != 32 {
			t.Errorf("record %d: hash has %d bytes, want 32", i, len(rec.Hash))
		}
		if i+1 < len(got) && !bytes.Equal(rec.PrevHash, got[i+1].Hash) {
			t.Errorf("record seq %d: prev_hash is not the hash of seq %d", rec.Seq, got[i+1].Seq)
		}
	}
	if first := got[len(got)-1]; !bytes.Equal(first.PrevHash, make([]byte, 32)) {
		t.Errorf("first record prev_hash = %x, want 32 zero bytes", first.PrevHash)
	}
	if other, err := l.List(ctx, "t2", Filter{}); err != nil || len(other) != 1 || other[0].Seq != 1 {
		t.Errorf("List(t2) = %+v, %v; want its one entry with seq 1 (seq counts per tenant)", other, err)
	}
}

func TestListFilters(t *testing.T) {
	ctx := context.Background()
	d, l := open(t)
	const n = 510
	// All in one caller transaction: later appends must see earlier ones.
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		for i := 1; i <= n; i++ {
			if err := l.Record(ctx, tx, testEntry("t1", i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Record in a transaction: %v", err)
	}
	// seqs returns the seqs of testEntry(i) for i from n down to 1 that
	// match keep, at most limit of them.
	seqs := func(limit int, keep func(i int, e Entry) bool) []int64 {
		var out []int64
		for i := n; i >= 1 && len(out) < limit; i-- {
			if keep(i, testEntry("t1", i)) {
				out = append(out, int64(i))
			}
		}
		return out
	}
	all := func(int, Entry) bool { return true }
	tests := []struct {
		name   string
		filter Filter
		want   []int64
	}{
		{"default limit 50 newest first", Filter{}, seqs(50, all)},
		{"limit 5", Filter{Limit: 5}, []int64{510, 509, 508, 507, 506}},
		{"limit capped at 500", Filter{Limit: 10000}, seqs(500, all)},
		{"negative limit is default", Filter{Limit: -1}, seqs(50, all)},
		{"subject", Filter{SubjectID: "s1", Limit: 500}, seqs(500, func(_ int, e Entry) bool { return e.SubjectID == "s1" })},
		{"action", Filter{Action: "contact.update", Limit: 7}, seqs(7, func(_ int, e Entry) bool { return e.Action == "contact.update" })},
		{"actor", Filter{ActorID: "u2", Limit: 4}, seqs(4, func(_ int, e Entry) bool { return e.Actor.ID == "u2" })},
		{"object", Filter{ObjectID: "c77"}, []int64{77}},
		{"subject and action", Filter{SubjectID: "s2", Action: "contact.read"}, seqs(50, func(_ int, e Entry) bool {
			return e.SubjectID == "s2" && e.Action == "contact.read"
		})},
		{"before seq pages", Filter{BeforeSeq: 10, Limit: 3}, []int64{9, 8, 7}},
		{"before seq and subject", Filter{BeforeSeq: 10, SubjectID: "s3", Limit: 3}, []int64{7, 3}},
		{"no match", Filter{SubjectID: "nobody"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := l.List(ctx, "t1", tt.filter)
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			var got []int64
			for _, r := range recs {
				got = append(got, r.Seq)
				if want := testEntry("t1", int(r.Seq)); !reflect.DeepEqual(r.Entry, want) {
					t.Errorf("seq %d: entry = %+v, want %+v", r.Seq, r.Entry, want)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("seqs = %v (%d), want %v (%d)", got, len(got), tt.want, len(tt.want))
			}
		})
	}
	if err := l.Verify(ctx, "t1"); err != nil {
		t.Errorf("Verify after appends in one transaction: %v", err)
	}
}
