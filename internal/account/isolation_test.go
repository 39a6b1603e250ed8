package account

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"avis/internal/db"
)

// TestTenantIsolation asks one tenant's admin to act on another tenant's
// objects: every call answers db.ErrNotFound and changes nothing.
func TestTenantIsolation(t *testing.T) {
	e := newEnv(t)
	acme := e.tenant(t, "acme")
	beta := e.tenant(t, "beta")
	owner := e.user(t, acme.ID, "owner@acme.example", RoleOwner)
	viewer := e.user(t, acme.ID, "viewer@acme.example", RoleViewer)
	e.user(t, beta.ID, "owner@beta.example", RoleOwner)
	plain, key, err := e.s.CreateAPIKey(ctx, admin, acme.ID, "CRM", []string{"contacts:read"})
	if err != nil {
		t.Fatal(err)
	}
	before := len(e.actions(t, acme.ID)) + len(e.actions(t, beta.ID))

	tests := []struct {
		name string
		call func() error
	}{
		{"revoke key", func() error { return e.s.RevokeAPIKey(ctx, admin, beta.ID, key.ID) }},
		{"set role", func() error { return e.s.SetRole(ctx, admin, beta.ID, viewer.ID, RoleOwner) }},
		{"remove member", func() error { return e.s.RemoveMember(ctx, admin, beta.ID, viewer.ID) }},
		{"remove owner", func() error { return e.s.RemoveMember(ctx, admin, beta.ID, owner.ID) }},
		{"role of", func() error { _, err := e.s.RoleOf(ctx, beta.ID, viewer.ID); return err }},
		{"unknown tenant", func() error { return e.s.SetRole(ctx, admin, db.NewID(), viewer.ID, RoleAdmin) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, db.ErrNotFound) {
				t.Errorf("err = %v, want db.ErrNotFound", err)
			}
		})
	}
	if _, err := e.s.AuthenticateAPIKey(ctx, plain); err != nil {
		t.Errorf("acme's key stopped working: %v", err)
	}
	if keys, _ := e.s.APIKeys(ctx, beta.ID); len(keys) != 0 {
		t.Errorf("beta lists acme's keys: %+v", keys)
	}
	if r, err := e.s.RoleOf(ctx, acme.ID, viewer.ID); err != nil || r != RoleViewer {
		t.Errorf("viewer's role in acme = %q, %v", r, err)
	}
	if r, err := e.s.RoleOf(ctx, acme.ID, owner.ID); err != nil || r != RoleOwner {
		t.Errorf("owner's role in acme = %q, %v", r, err)
	}
	ms, _ := e.s.Members(ctx, admin, beta.ID)
	if len(ms) != 1 || ms[0].Email != "owner@beta.example" {
		t.Errorf("beta's members = %+v", ms)
	}
	after := len(e.actions(t, acme.ID)) + len(e.actions(t, beta.ID)) - 1 // the user.list above
	if after != before {
		t.Errorf("refused calls wrote %d audit entries", after-before)
	}
}

func TestLastOwner(t *testing.T) {
	e := newEnv(t)
	acme := e.tenant(t, "acme")
	first := e.user(t, acme.ID, "first@acme.example", RoleOwner)
	second := e.user(t, acme.ID, "second@acme.example", RoleAdmin)

	if err := e.s.SetRole(ctx, admin, acme.ID, first.ID, RoleAdmin); !errors.Is(err, ErrLastOwner) {
		t.Fatalf("demote the only owner: err = %v, want ErrLastOwner", err)
	}
	if err := e.s.RemoveMember(ctx, admin, acme.ID, first.ID); !errors.Is(err, ErrLastOwner) {
		t.Fatalf("remove the only owner: err = %v, want ErrLastOwner", err)
	}
	if r, _ := e.s.RoleOf(ctx, acme.ID, first.ID); r != RoleOwner {
		t.Fatalf("role after refusals = %q", r)
	}
	if err := e.s.SetRole(ctx, admin, acme.ID, first.ID, RoleOwner); err != nil {
		t.Errorf("owner to owner: %v", err)
	}
	if err := e.s.SetRole(ctx, admin, acme.ID, second.ID, RoleOwner); err != nil {
		t.Fatal(err)
	}
	if err := e.s.SetRole(ctx, admin, acme.ID, first.ID, RoleViewer); err != nil {
		t.Fatalf("demote one of two owners: %v", err)
	}
	if err := e.s.RemoveMember(ctx, admin, acme.ID, second.ID); !errors.Is(err, ErrLastOwner) {
		t.Fatalf("remove the new only owner: err = %v, want ErrLastOwner", err)
	}
	token, _, _ := e.s.CreateSession(ctx, first.ID, acme.ID, false)
	if err := e.s.RemoveMember(ctx, admin, acme.ID, first.ID); err != nil {
		t.Fatalf("remove a viewer: %v", err)
	}
	if _, err := e.s.RoleOf(ctx, acme.ID, first.ID); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("still a member: %v", err)
	}
	if _, err := e.s.Session(ctx, token); !errors.Is(err, ErrSessionExpired) {
		t.Errorf("session in the tenant survived removal: %v", err)
	}
	if err := e.s.SetRole(ctx, admin, acme.ID, second.ID, "root"); err == nil {
		t.Error("unknown role accepted")
	}
	for action, want := range map[string]int{"member.role": 2, "member.remove": 1} {
		if n := e.count(t, acme.ID, action); n != want {
			t.Errorf("%d %s entries, want %d", n, action, want)
		}
	}
}

// TestLastOwnerConcurrent demotes two owners at once: one demotion must be
// refused, whatever the interleaving.
func TestLastOwnerConcurrent(t *testing.T) {
	e := newEnv(t)
	acme := e.tenant(t, "acme")
	for round := range 5 {
		a := e.user(t, acme.ID, fmt.Sprintf("a%d@acme.example", round), RoleOwner)
		b := e.user(t, acme.ID, fmt.Sprintf("b%d@acme.example", round), RoleOwner)
		// Leave a and b as the only owners.
		ms, _ := e.s.Members(ctx, admin, acme.ID)
		for _, m := range ms {
			if m.ID != a.ID && m.ID != b.ID && m.Role == RoleOwner {
				if err := e.s.SetRole(ctx, admin, acme.ID, m.ID, RoleViewer); err != nil {
					t.Fatal(err)
				}
			}
		}
		errs := make(chan error, 2)
		var start sync.WaitGroup
		start.Add(1)
		for _, id := range []string{a.ID, b.ID} {
			go func() {
				start.Wait()
				errs <- e.s.SetRole(ctx, admin, acme.ID, id, RoleAdmin)
			}()
		}
		start.Done()
		e1, e2 := <-errs, <-errs
		refused := 0
		for _, err := range []error{e1, e2} {
			switch {
			case errors.Is(err, ErrLastOwner):
				refused++
			case err != nil:
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if refused != 1 {
			t.Fatalf("round %d: %d demotions refused, want 1 (errors %v, %v)", round, refused, e1, e2)
		}
		// Make a and b owners again for the count of the next round.
		_ = e.s.SetRole(ctx, admin, acme.ID, a.ID, RoleOwner)
		_ = e.s.SetRole(ctx, admin, acme.ID, b.ID, RoleOwner)
	}
}
