package account

import (
	"errors"
	"testing"

	"avis/internal/db"
)

func TestCreateUserAndAuthenticate(t *testing.T) {
	e := newEnv(t)
	acme := e.tenant(t, "acme")
	u, err := e.s.CreateUser(ctx, admin, acme.ID, "  Camille.Martin@Example.ORG ", "Camille Martin", goodPassword, RoleOwner)
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "camille.martin@example.org" || u.Name != "Camille Martin" || !db.ValidID(u.ID) {
		t.Fatalf("created %+v", u)
	}

	tests := []struct {
		name, email, password string
		want                  error
	}{
		{"ok", "camille.martin@example.org", goodPassword, nil},
		{"ok other case and spaces", " CAMILLE.martin@example.org", goodPassword, nil},
		{"wrong password", "camille.martin@example.org", goodPassword + "x", ErrBadCredentials},
		{"empty password", "camille.martin@example.org", "", ErrBadCredentials},
		{"unknown email", "nobody@example.org", goodPassword, ErrBadCredentials},
		{"not an email", "camille", goodPassword, ErrBadCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.s.Authenticate(ctx, tt.email, tt.password, "192.0.2.1")
			if tt.want == nil {
				if err != nil || got.ID != u.ID || got.Email != u.Email {
					t.Fatalf("Authenticate = %+v, %v", got, err)
				}
				return
			}
			if !errors.Is(err, tt.want) || got.ID != "" {
				t.Fatalf("Authenticate = %+v, %v; want %v", got, err, tt.want)
			}
		})
	}
	// The unknown email spent a hash like a known one.
	if e.s.dummyHash == "" {
		t.Error("an unknown email was answered without hashing")
	}
	if n := e.count(t, "", "login.ok"); n != 2 {
		t.Errorf("%d login.ok entries, want 2", n)
	}
	if n := e.count(t, "", "login.fail"); n != 4 {
		t.Errorf("%d login.fail entries, want 4", n)
	}
	if got := e.actions(t, acme.ID); len(got) != 3 || got[1] != "user.create" || got[2] != "member.add" {
		t.Errorf("tenant audit = %v, want [tenant.create user.create member.add]", got)
	}
	if r, err := e.s.RoleOf(ctx, acme.ID, u.ID); err != nil || r != RoleOwner {
		t.Errorf("RoleOf = %q, %v", r, err)
	}

	// The same person joins another tenant: no new account, the old
	// password stays.
	beta := e.tenant(t, "beta")
	u2, err := e.s.CreateUser(ctx, admin, beta.ID, "camille.martin@example.org", "", "", RoleViewer)
	if err != nil || u2.ID != u.ID || u2.Name != "Camille Martin" {
		t.Fatalf("add existing person = %+v, %v", u2, err)
	}
	if _, err := e.s.CreateUser(ctx, admin, beta.ID, "camille.martin@example.org", "", "another-strong-passphrase", RoleViewer); !errors.Is(err, db.ErrConflict) {
		t.Errorf("second membership: err = %v, want db.ErrConflict", err)
	}
	if _, err := e.s.Authenticate(ctx, "camille.martin@example.org", goodPassword, ""); err != nil {
		t.Errorf("old password after joining a tenant: %v", err)
	}
	ms, err := e.s.Memberships(ctx, u.ID)
	if err != nil || len(ms) != 2 || ms[0].Tenant.ID != acme.ID || ms[0].Role != RoleOwner || ms[1].Role != RoleViewer {
		t.Errorf("Memberships = %+v, %v", ms, err)
	}

	refused := []struct {
		name, email, password string
		role                  Role
		want                  error
	}{
		{"bad email", "camille@", goodPassword, RoleViewer, ErrInvalidEmail},
		{"display name", "Camille <c@example.org>", goodPassword, RoleViewer, ErrInvalidEmail},
		{"weak password", "new@example.org", "password1234", RoleViewer, ErrWeakPassword},
		{"no password for a new person", "new@example.org", "", RoleViewer, ErrWeakPassword},
		{"unknown tenant", "new@example.org", goodPassword, RoleViewer, db.ErrNotFound},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			tenant := acme.ID
			if tt.want == db.ErrNotFound {
				tenant = db.NewID()
			}
			if _, err := e.s.CreateUser(ctx, admin, tenant, tt.email, "New", tt.password, tt.role); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := e.s.CreateUser(ctx, admin, acme.ID, "x@example.org", "X", goodPassword, "root"); err == nil {
		t.Error("unknown role accepted")
	}
}

func TestUserReadsAreAudited(t *testing.T) {
	e := newEnv(t)
	acme := e.tenant(t, "acme")
	u := e.user(t, acme.ID, "camille@example.org", RoleOwner)
	e.user(t, acme.ID, "dominique@example.org", RoleViewer)

	got, err := e.s.UserByID(ctx, admin, u.ID)
	if err != nil || got.Email != "camille@example.org" || got.Name != "Camille Martin" {
		t.Fatalf("UserByID = %+v, %v", got, err)
	}
	if n := e.count(t, "", "user.read"); n != 1 {
		t.Errorf("%d user.read entries, want 1", n)
	}
	if _, err := e.s.UserByID(ctx, admin, db.NewID()); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("unknown user: %v", err)
	}
	ms, err := e.s.Members(ctx, admin, acme.ID)
	if err != nil || len(ms) != 2 || ms[0].Email != "camille@example.org" || ms[0].Role != RoleOwner ||
		ms[1].Email != "dominique@example.org" || ms[1].Role != RoleViewer || ms[1].Since.IsZero() {
		t.Fatalf("Members = %+v, %v", ms, err)
	}
	if n := e.count(t, acme.ID, "user.list"); n != 1 {
		t.Errorf("%d user.list entries, want 1", n)
	}
}

func TestNoEmailInClear(t *testing.T) {
	e := newEnv(t)
	acme := e.tenant(t, "acme")
	const email = "seeded.person@example.org"
	u := e.user(t, acme.ID, email, RoleOwner)
	if _, err := e.s.Authenticate(ctx, email, goodPassword, "198.51.100.7"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Authenticate(ctx, email, "wrong", "198.51.100.7"); !errors.Is(err, ErrBadCredentials) {
		t.Fatal(err)
	}
	if _, _, err := e.s.BeginTOTP(ctx, u.ID, "avis"); err != nil {
		t.Fatal(err)
	}
	for _, needle := range []string{email, "seeded.person", "Camille Martin", goodPassword} {
		if tableContains(t, e.d, "users", []byte(needle)) {
			t.Errorf("users holds %q in clear", needle)
		}
	}
	for _, table := range []string{"audit_log", "login_throttle"} {
		for _, needle := range []string{"seeded.person", "198.51.100.7"} {
			if tableContains(t, e.d, table, []byte(needle)) {
				t.Errorf("%s holds %q in clear", table, needle)
			}
		}
	}
}

func TestNormaliseEmail(t *testing.T) {
	tests := []struct{ in, want string }{
		{" A.B@Example.org ", "a.b@example.org"},
		{"a+tag@example.org", "a+tag@example.org"},
		{"a@b", "a@b"},
		{"", ""},
		{"a", ""},
		{"a@", ""},
		{"@b.org", ""},
		{"a b@example.org", ""},
		{"<a@example.org>", ""},
		{"a@[192.0.2.1]", ""},
	}
	for _, tt := range tests {
		got, err := NormaliseEmail(tt.in)
		if got != tt.want || (err == nil) != (tt.want != "") {
			t.Errorf("NormaliseEmail(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		if err != nil && !errors.Is(err, ErrInvalidEmail) {
			t.Errorf("NormaliseEmail(%q) err = %v, want ErrInvalidEmail", tt.in, err)
		}
	}
}
