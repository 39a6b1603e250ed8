package survey_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"avis/internal/audit"
	"avis/internal/db"
	"avis/internal/db/dbtest"
	"avis/internal/survey"
)

var sys = audit.System("test")

func setup(t *testing.T) (*survey.Store, *db.DB, *audit.Log) {
	t.Helper()
	d := dbtest.Open(t)
	for _, id := range []string{"a", "b"} {
		if _, err := d.W.Exec(`INSERT INTO tenants (id, slug, name, created_at) VALUES ($1, $1, $1, 1)`, id); err != nil {
			t.Fatal(err)
		}
	}
	l := audit.New(d)
	return survey.NewStore(d, l), d, l
}

func actions(t *testing.T, l *audit.Log, tenant string) []string {
	t.Helper()
	recs, err := l.List(context.Background(), tenant, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(recs) - 1; i >= 0; i-- {
		out = append(out, recs[i].Action)
	}
	return out
}

func TestStoreLifecycle(t *testing.T) {
	ctx := context.Background()
	s, d, l := setup(t)
	user := audit.Actor{Kind: audit.ActorUser, ID: db.NewID()}
	def := example(t)
	sv, err := s.Create(ctx, user, "a", def)
	if err != nil {
		t.Fatal(err)
	}
	if sv.CurrentVersion != 1 || sv.Status != survey.StatusDraft || sv.Name != "After delivery" || !db.ValidID(sv.ID) {
		t.Fatalf("created %+v", sv)
	}
	got, err := s.Get(ctx, "a", sv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Definition, def) || got.CurrentVersion != 1 || got.Status != survey.StatusDraft || got.CreatedAt.IsZero() {
		t.Fatalf("Get = %+v", got)
	}

	// The same definition again: no new version.
	v, err := s.Update(ctx, user, "a", sv.ID, example(t))
	if err != nil || v != 1 {
		t.Fatalf("unchanged Update = %d, %v", v, err)
	}
	// A changed definition: version 2, version 1 kept as it was.
	changed := example(t)
	changed.Name = "After delivery (2027)"
	changed.Pages[0].Questions[1].Condition.Value = 5
	if v, err = s.Update(ctx, user, "a", sv.ID, changed); err != nil || v != 2 {
		t.Fatalf("Update = %d, %v", v, err)
	}
	got, _ = s.Get(ctx, "a", sv.ID)
	if got.CurrentVersion != 2 || got.Name != "After delivery (2027)" || got.Definition.Pages[0].Questions[1].Condition.Value != 5 {
		t.Fatalf("after update: %+v", got)
	}
	v1, err := s.Version(ctx, "a", sv.ID, 1)
	if err != nil || !reflect.DeepEqual(v1.Definition, def) || v1.CreatedBy != "user:"+user.ID || v1.Version != 1 {
		t.Fatalf("Version(1) = %+v, %v", v1, err)
	}
	if _, err := s.Version(ctx, "a", sv.ID, 3); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("Version(3): %v", err)
	}
	vs, err := s.Versions(ctx, "a", sv.ID)
	if err != nil || len(vs) != 2 || vs[0].Version != 1 || vs[1].Version != 2 || vs[1].Definition != nil {
		t.Fatalf("Versions = %+v, %v", vs, err)
	}
	// Back to the first content: a third version, equal to the first.
	if v, err = s.Update(ctx, user, "a", sv.ID, def); err != nil || v != 3 {
		t.Fatalf("Update back = %d, %v", v, err)
	}

	// An invalid definition is refused with its problems; nothing changes.
	bad := example(t)
	bad.Pages[0].Questions[0].Text = survey.Texts{"en": "Recommend?"}
	_, err = s.Update(ctx, user, "a", sv.ID, bad)
	var ve survey.ValidationErrors
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), "pages[0].questions[0].text.fr: missing") {
		t.Fatalf("invalid Update: %v", err)
	}
	if _, err := s.Create(ctx, user, "a", bad); !errors.As(err, &ve) {
		t.Fatalf("invalid Create: %v", err)
	}
	if _, err := s.Create(ctx, user, "a", nil); !errors.As(err, &ve) {
		t.Fatalf("nil Create: %v", err)
	}

	// Statuses.
	if err := s.SetStatus(ctx, user, "a", sv.ID, survey.StatusActive); err != nil {
		t.Fatal(err)
	}
	if err := s.SetStatus(ctx, user, "a", sv.ID, survey.StatusActive); err != nil {
		t.Fatal(err)
	}
	if err := s.SetStatus(ctx, user, "a", sv.ID, "paused"); !errors.Is(err, survey.ErrInvalidStatus) {
		t.Fatalf("unknown status: %v", err)
	}
	list, err := s.List(ctx, "a")
	if err != nil || len(list) != 1 || list[0].Status != survey.StatusActive || list[0].CurrentVersion != 3 || list[0].Definition != nil {
		t.Fatalf("List = %+v, %v", list, err)
	}

	// A second survey, then delete the first.
	other, err := s.Create(ctx, sys, "a", changed)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, user, "a", sv.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "a", sv.ID); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("Get after Delete: %v", err)
	}
	if _, err := s.Versions(ctx, "a", sv.ID); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("Versions after Delete: %v", err)
	}
	if err := s.Delete(ctx, user, "a", sv.ID); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("second Delete: %v", err)
	}
	var n int
	if err := d.R.QueryRow(`SELECT count(*) FROM survey_versions WHERE tenant_id = 'a'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("versions left: %d %v", n, err)
	}
	if list, _ := s.List(ctx, "a"); len(list) != 1 || list[0].ID != other.ID {
		t.Fatalf("List after Delete = %+v", list)
	}
	// A survey with an answer stays: its answers keep their questions.
	if _, err := d.W.ExecContext(ctx, `INSERT INTO responses (tenant_id, id, survey_id, survey_version, source, language, status,
		started_at, updated_at) VALUES ('a', $1, $2, 1, 'public', 'fr', 'partial', 1, 1)`, db.NewID(), other.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, user, "a", other.ID); !errors.Is(err, survey.ErrInUse) {
		t.Fatalf("Delete of a survey with an answer: %v", err)
	}
	if _, err := s.Get(ctx, "a", other.ID); err != nil {
		t.Fatalf("the answered survey is gone: %v", err)
	}

	want := []string{"survey.create", "survey.update", "survey.update", "survey.status", "survey.create", "survey.delete"}
	if got := actions(t, l, "a"); !reflect.DeepEqual(got, want) {
		t.Fatalf("audit = %v, want %v", got, want)
	}
	if err := l.Verify(ctx, "a"); err != nil {
		t.Fatalf("audit chain: %v", err)
	}
}

func TestTenantIsolation(t *testing.T) {
	ctx := context.Background()
	s, _, l := setup(t)
	sv, err := s.Create(ctx, sys, "a", example(t))
	if err != nil {
		t.Fatal(err)
	}
	changed := example(t)
	changed.Name = "Taken over"
	cases := []struct {
		name string
		call func() error
	}{
		{"Get", func() error { _, err := s.Get(ctx, "b", sv.ID); return err }},
		{"Version", func() error { _, err := s.Version(ctx, "b", sv.ID, 1); return err }},
		{"Versions", func() error { _, err := s.Versions(ctx, "b", sv.ID); return err }},
		{"Update", func() error { _, err := s.Update(ctx, sys, "b", sv.ID, changed); return err }},
		{"SetStatus", func() error { return s.SetStatus(ctx, sys, "b", sv.ID, survey.StatusArchived) }},
		{"Delete", func() error { return s.Delete(ctx, sys, "b", sv.ID) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); !errors.Is(err, db.ErrNotFound) {
				t.Fatalf("tenant b: %v, want ErrNotFound", err)
			}
		})
	}
	if list, err := s.List(ctx, "b"); err != nil || len(list) != 0 {
		t.Fatalf("tenant b lists %+v, %v", list, err)
	}
	got, err := s.Get(ctx, "a", sv.ID)
	if err != nil || got.Name != "After delivery" || got.CurrentVersion != 1 || got.Status != survey.StatusDraft {
		t.Fatalf("tenant a's survey changed: %+v, %v", got, err)
	}
	if a := actions(t, l, "b"); len(a) != 0 {
		t.Fatalf("tenant b's audit has %v", a)
	}
}

func TestAuditHoldsNoSurveyText(t *testing.T) {
	ctx := context.Background()
	s, d, _ := setup(t)
	def := example(t)
	def.Name = "Secret name 0612345678"
	sv, err := s.Create(ctx, sys, "a", def)
	if err != nil {
		t.Fatal(err)
	}
	var detail string
	if err := d.R.QueryRow(`SELECT detail FROM audit_log WHERE tenant_id = 'a' AND object_id = $1`, sv.ID).Scan(&detail); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(detail, "Secret") || !strings.Contains(detail, "questions") {
		t.Fatalf("audit detail = %s", detail)
	}
}

func TestConcurrentUpdates(t *testing.T) {
	ctx := context.Background()
	s, _, _ := setup(t)
	sv, err := s.Create(ctx, sys, "a", example(t))
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	got := make(chan int, n)
	errs := make(chan error, n)
	for i := range n {
		def := example(t)
		def.Name = "Edit " + string(rune('a'+i))
		go func() {
			v, err := s.Update(ctx, sys, "a", sv.ID, def)
			got <- v
			errs <- err
		}()
	}
	seen := map[int]bool{}
	for range n {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent Update: %v", err)
		}
		seen[<-got] = true
	}
	for v := 2; v <= n+1; v++ {
		if !seen[v] {
			t.Fatalf("versions %v: %d missing", seen, v)
		}
	}
	if cur, _ := s.Get(ctx, "a", sv.ID); cur.CurrentVersion != n+1 {
		t.Fatalf("current version %d, want %d", cur.CurrentVersion, n+1)
	}
}
