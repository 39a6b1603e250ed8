package survey_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"avis/internal/db"
)

// TestDefinitionCache: the survey page's definitions follow the survey —
// the current version after an update, each version as stored, another
// tenant's never, and nothing once the survey is deleted — while an
// editor's copy from Get can be changed without touching them.
func TestDefinitionCache(t *testing.T) {
	ctx := context.Background()
	s, _, _ := setup(t)
	sv, err := s.Create(ctx, sys, "a", example(t))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.CurrentVersion(ctx, "a", sv.ID); err != nil || v != 1 {
		t.Fatalf("CurrentVersion = %d, %v", v, err)
	}
	d1, err := s.Definition(ctx, "a", sv.ID, 1)
	if err != nil || !reflect.DeepEqual(d1, example(t)) {
		t.Fatalf("Definition 1 = %+v, %v", d1, err)
	}
	if again, _ := s.Definition(ctx, "a", sv.ID, 1); again != d1 {
		t.Fatal("version 1 parsed twice")
	}
	// An editor changes its own copy: the shared definition stays.
	got, _ := s.Get(ctx, "a", sv.ID)
	got.Definition.Name = "Edited in memory"
	if d, _ := s.Definition(ctx, "a", sv.ID, 1); d.Name != example(t).Name {
		t.Fatalf("the shared definition changed with an editor's copy: %q", d.Name)
	}
	changed := example(t)
	changed.Name = "After delivery (v2)"
	if _, err := s.Update(ctx, sys, "a", sv.ID, changed); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.CurrentVersion(ctx, "a", sv.ID); v != 2 {
		t.Fatalf("CurrentVersion after an update = %d", v)
	}
	if d, _ := s.Definition(ctx, "a", sv.ID, 2); d == nil || d.Name != "After delivery (v2)" {
		t.Fatalf("Definition 2 = %+v", d)
	}
	if d, _ := s.Definition(ctx, "a", sv.ID, 1); d.Name != example(t).Name {
		t.Fatalf("version 1 became %q", d.Name)
	}
	if _, err := s.Definition(ctx, "b", sv.ID, 1); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("another tenant's version: %v", err)
	}
	if _, err := s.CurrentVersion(ctx, "b", sv.ID); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("another tenant's current version: %v", err)
	}
	if err := s.Delete(ctx, sys, "a", sv.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Definition(ctx, "a", sv.ID, 1); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("a deleted survey's version: %v", err)
	}
	if _, err := s.CurrentVersion(ctx, "a", sv.ID); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("a deleted survey's current version: %v", err)
	}
}
