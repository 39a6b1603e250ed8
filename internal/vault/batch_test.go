package vault

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"avis/internal/db"
	"avis/internal/db/dbtest"
)

func TestNewSubjectsAndSubjects(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	v, err := New(ctx, d, testKey(3))
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 1200)
	for i := range ids {
		ids[i] = db.NewID()
	}
	var sealed [][]byte
	err = d.Tx(ctx, func(tx *sql.Tx) error {
		keys, err := v.NewSubjects(ctx, tx, "t1", ids)
		if err != nil {
			return err
		}
		for _, k := range keys {
			sealed = append(sealed, k.SealString("email", k.SubjectID()+"@example.com"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A fresh Vault (no cache) finds every key, one by one and in bulk.
	v2, _ := New(ctx, d, testKey(3))
	got, err := v2.Subjects(ctx, nil, "t1", append(ids, "nobody"))
	if err != nil || len(got) != len(ids) {
		t.Fatalf("Subjects: %d keys, %v", len(got), err)
	}
	for i, id := range ids {
		s, err := got[id].OpenString("email", sealed[i])
		if err != nil || s != id+"@example.com" {
			t.Fatalf("key %d opens to %q, %v", i, s, err)
		}
	}
	k, err := v2.Lookup(ctx, "t1", ids[7])
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := k.OpenString("email", sealed[7]); s != ids[7]+"@example.com" {
		t.Fatal("Lookup key differs")
	}
	// An erased subject is absent; a second key for an existing subject is refused.
	if err := v2.EraseSubject(ctx, nil, "t1", ids[0]); err != nil {
		t.Fatal(err)
	}
	v3, _ := New(ctx, d, testKey(3))
	if got, _ := v3.Subjects(ctx, nil, "t1", ids[:2]); got[ids[0]] != nil || got[ids[1]] == nil {
		t.Fatal("erased subject returned, or live one missing")
	}
	err = d.Tx(ctx, func(tx *sql.Tx) error { _, err := v.NewSubjects(ctx, tx, "t1", ids[1:2]); return err })
	if !errors.Is(err, db.ErrConflict) {
		t.Fatalf("second key for a subject: %v", err)
	}
	// Rolled back: nothing stored.
	lost := db.NewID()
	_ = d.Tx(ctx, func(tx *sql.Tx) error {
		v.NewSubjects(ctx, tx, "t1", []string{lost})
		return errors.New("roll back")
	})
	if _, err := v.Lookup(ctx, "t1", lost); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("rolled-back key: %v", err)
	}
}
