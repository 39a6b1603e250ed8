package account

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"avis/internal/db"
)

func TestAPIKeys(t *testing.T) {
	e := newEnv(t)
	acme := e.tenant(t, "acme")
	plain, k, err := e.s.CreateAPIKey(ctx, admin, acme.ID, "CRM sync", []string{"events:write", "contacts:write", "contacts:write"})
	if err != nil {
		t.Fatal(err)
	}
	if len(plain) != 5+26+1+43 || !strings.HasPrefix(plain, "avis_"+k.ID+"_") {
		t.Errorf("key %q does not have the avis_<id>_<secret> shape", plain)
	}
	if !slices.Equal(k.Scopes, []string{"contacts:write", "events:write"}) || k.TenantID != acme.ID || k.Name != "CRM sync" {
		t.Errorf("created %+v", k)
	}
	if tableContains(t, e.d, "api_keys", []byte(plain[len(plain)-43:])) {
		t.Error("the key secret is stored in clear")
	}
	got, err := e.s.AuthenticateAPIKey(ctx, plain)
	if err != nil || got.ID != k.ID || got.TenantID != acme.ID || !got.HasScope("events:write") || got.HasScope("contacts:read") {
		t.Fatalf("AuthenticateAPIKey = %+v, %v", got, err)
	}
	if !got.LastUsedAt.Equal(e.clock.Now()) {
		t.Errorf("LastUsedAt = %v, want %v", got.LastUsedAt, e.clock.Now())
	}

	wrongSecret := plain[:len(plain)-43] + strings.Repeat("A", 43)
	other := db.NewID()
	tests := []struct{ name, token string }{
		{"empty", ""},
		{"no prefix", strings.TrimPrefix(plain, "avis_")},
		{"other prefix", "sk_" + plain[2:]},
		{"short", plain[:len(plain)-1]},
		{"long", plain + "A"},
		{"bad separator", plain[:31] + "-" + plain[32:]},
		{"bad id", "avis_" + strings.Repeat("!", 26) + plain[31:]},
		{"secret not base64url", plain[:len(plain)-1] + "+"},
		{"unknown id", "avis_" + other + plain[31:]},
		{"wrong secret", wrongSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := e.s.AuthenticateAPIKey(ctx, tt.token); !errors.Is(err, ErrBadAPIKey) {
				t.Errorf("err = %v, want ErrBadAPIKey", err)
			}
		})
	}

	// last_used_at is written at most once a minute.
	e.clock.Add(30 * time.Second)
	_, _ = e.s.AuthenticateAPIKey(ctx, plain)
	keys, _ := e.s.APIKeys(ctx, acme.ID)
	if len(keys) != 1 || !keys[0].LastUsedAt.Equal(e.clock.Now().Add(-30*time.Second)) {
		t.Errorf("after 30 s: %+v", keys)
	}
	e.clock.Add(31 * time.Second)
	_, _ = e.s.AuthenticateAPIKey(ctx, plain)
	keys, _ = e.s.APIKeys(ctx, acme.ID)
	if !keys[0].LastUsedAt.Equal(e.clock.Now()) {
		t.Errorf("after 61 s: LastUsedAt = %v, want %v", keys[0].LastUsedAt, e.clock.Now())
	}

	if err := e.s.RevokeAPIKey(ctx, admin, acme.ID, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.AuthenticateAPIKey(ctx, plain); !errors.Is(err, ErrBadAPIKey) {
		t.Errorf("revoked key: err = %v, want ErrBadAPIKey", err)
	}
	if err := e.s.RevokeAPIKey(ctx, admin, acme.ID, k.ID); err != nil {
		t.Errorf("revoking twice: %v", err)
	}
	keys, _ = e.s.APIKeys(ctx, acme.ID)
	if len(keys) != 1 || keys[0].RevokedAt.IsZero() {
		t.Errorf("listed after revoke: %+v", keys)
	}
	if got := e.actions(t, acme.ID); !slices.Equal(got, []string{"tenant.create", "apikey.create", "apikey.revoke"}) {
		t.Errorf("audit = %v", got)
	}
}

func TestAPIKeyScopes(t *testing.T) {
	e := newEnv(t)
	acme := e.tenant(t, "acme")
	tests := []struct {
		name   string
		scopes []string
		ok     bool
	}{
		{"all", Scopes, true},
		{"one", []string{"reviews:read"}, true},
		{"none", nil, false},
		{"unknown", []string{"contacts:read", "admin"}, false},
		{"wildcard", []string{"*"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, k, err := e.s.CreateAPIKey(ctx, admin, acme.ID, "key "+tt.name, tt.scopes)
			if tt.ok {
				if err != nil || len(k.Scopes) != len(tt.scopes) {
					t.Fatalf("= %+v, %v", k, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidScope) {
				t.Fatalf("err = %v, want ErrInvalidScope", err)
			}
		})
	}
	if _, _, err := e.s.CreateAPIKey(ctx, admin, acme.ID, " ", Scopes); !errors.Is(err, ErrInvalidName) {
		t.Errorf("empty name: err = %v, want ErrInvalidName", err)
	}
	if _, _, err := e.s.CreateAPIKey(ctx, admin, db.NewID(), "x", Scopes); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("unknown tenant: err = %v, want db.ErrNotFound", err)
	}
	keys, _ := e.s.APIKeys(ctx, acme.ID)
	if len(keys) != 2 {
		t.Errorf("%d keys stored, want 2 (refused ones are not)", len(keys))
	}
}
