package contact_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"avis/internal/audit"
	"avis/internal/contact"
	"avis/internal/db"
	"avis/internal/db/dbtest"
	"avis/internal/feed"
	"avis/internal/vault"
)

func TestNormaliseEmail(t *testing.T) {
	cases := []struct{ in, want string }{
		{"  Jean.Dupont@Example.FR ", "jean.dupont@example.fr"},
		{"marie@café.example", "marie@xn--caf-dma.example"},
		{"jean@@example.fr", ""},
		{"no-at-sign", ""},
		{"a@b", ""},
		{"Jean <jean@example.fr>", ""},
		{"", ""},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := contact.NormaliseEmail(c.in)
			if c.want == "" {
				if !errors.Is(err, contact.ErrInvalidEmail) {
					t.Fatalf("NormaliseEmail(%q) = %q, %v; want ErrInvalidEmail", c.in, got, err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("NormaliseEmail(%q) = %q, %v; want %q", c.in, got, err, c.want)
			}
		})
	}
}

func newStore(t testing.TB) (*contact.Store, *db.DB, *audit.Log) {
	t.Helper()
	d := dbtest.Open(t)
	ctx := context.Background()
	v, err := vault.New(ctx, d, bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	a := audit.New(d)
	for _, slug := range []string{"a", "b"} {
		if _, err := d.W.ExecContext(ctx, `INSERT INTO tenants (id, slug, name, created_at) VALUES ($1, $1, $1, 1)`, slug); err != nil {
			t.Fatal(err)
		}
	}
	return contact.NewStore(d, v, a), d, a
}

func TestCreateGetEraseIsolation(t *testing.T) {
	ctx := context.Background()
	s, d, a := newStore(t)
	actor := audit.System("test")
	c, err := s.Create(ctx, actor, "a", contact.Input{ExternalID: "CRM-77", Email: "Zoé.Martin@Example.com", Phone: "+33199001122", FirstName: "Zoé", LastName: "Martin", Country: "FR"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, actor, "a", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Email != "zoé.martin@example.com" || got.FirstName != "Zoé" || got.Phone != "+33199001122" {
		t.Fatalf("read back %+v", got)
	}
	if _, err := s.Get(ctx, actor, "b", c.ID); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("other tenant's Get = %v, want ErrNotFound", err)
	}
	if found, err := s.ByEmail(ctx, actor, "a", "ZOÉ.martin@example.COM"); err != nil || found.ID != c.ID {
		t.Fatalf("ByEmail = %v, %v", found.ID, err)
	}
	if _, err := s.ByEmail(ctx, actor, "b", "zoé.martin@example.com"); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("ByEmail in other tenant = %v, want ErrNotFound", err)
	}
	recs, err := a.List(ctx, "a", audit.Filter{SubjectID: c.ID, Action: "contact.read"})
	if err != nil || len(recs) < 2 {
		t.Fatalf("reads audited: %d entries, %v", len(recs), err)
	}
	// The raw row holds no clear text.
	var raw []byte
	if err := d.R.QueryRowContext(ctx, `SELECT email_sealed FROM contacts WHERE id = $1`, c.ID).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if !vault.IsSealed(raw) || bytes.Contains(raw, []byte("martin")) {
		t.Fatal("email stored without the vault")
	}
	if err := s.Erase(ctx, actor, "b", c.ID); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("erase from other tenant = %v", err)
	}
	if err := s.Erase(ctx, actor, "a", c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, actor, "a", c.ID); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("after erase Get = %v", err)
	}
	// The CRM hears of the erasure by its own id, and only the erasure
	// that happened.
	evs, err := feed.New(d).After(ctx, "a", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Type != feed.SubjectErased || evs[0].ExternalID != "CRM-77" || evs[0].ObjectID != c.ID {
		t.Fatalf("feed after erasure: %+v", evs)
	}
	if evs, _ := feed.New(d).After(ctx, "b", 0, 10); len(evs) != 0 {
		t.Fatalf("the refused erasure reached the other tenant's feed: %+v", evs)
	}
}

func TestListPages(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t)
	actor := audit.System("test")
	var ins []contact.Input
	for i := range 7 {
		ins = append(ins, contact.Input{Email: "p" + string(rune('a'+i)) + "@example.com", FirstName: "P"})
	}
	if _, err := s.CreateMany(ctx, actor, "a", ins); err != nil {
		t.Fatal(err)
	}
	seen := 0
	after := ""
	for {
		p, err := s.List(ctx, actor, "a", after, 3)
		if err != nil {
			t.Fatal(err)
		}
		if p.Total != 7 {
			t.Fatalf("total %d", p.Total)
		}
		seen += len(p.Contacts)
		if p.Next == "" {
			break
		}
		after = p.Next
	}
	if seen != 7 {
		t.Fatalf("paged through %d contacts, want 7", seen)
	}
	if p, _ := s.List(ctx, actor, "b", "", 10); len(p.Contacts) != 0 {
		t.Fatal("tenant b sees tenant a's contacts")
	}
}
