package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/contact"
)

func TestAPI(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tn, _ := e.tenant("shop", account.RoleOwner)
	c, err := e.contacts.Create(ctx, audit.System("test"), tn.ID, contact.Input{Email: "api.person@example.com", FirstName: "Api"})
	if err != nil {
		t.Fatal(err)
	}
	readKey, _, _ := e.accounts.CreateAPIKey(ctx, audit.System("test"), tn.ID, "reader", []string{"contacts:read"})
	eventsKey, _, _ := e.accounts.CreateAPIKey(ctx, audit.System("test"), tn.ID, "events", []string{"events:write"})
	revoked, rk, _ := e.accounts.CreateAPIKey(ctx, audit.System("test"), tn.ID, "old", []string{"contacts:read"})
	if err := e.accounts.RevokeAPIKey(ctx, audit.System("test"), tn.ID, rk.ID); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	cases := []struct {
		name, path, auth string
		want             int
		wantCode, body   string
	}{
		{"no key", "/api/v1/contacts/" + c.ID, "", 401, "unauthorized", ""},
		{"malformed key", "/api/v1/contacts/" + c.ID, "Bearer not-a-key", 401, "invalid_api_key", ""},
		{"revoked key", "/api/v1/contacts/" + c.ID, "Bearer " + revoked, 401, "invalid_api_key", ""},
		{"wrong scope", "/api/v1/contacts/" + c.ID, "Bearer " + eventsKey, 403, "insufficient_scope", ""},
		{"unknown id", "/api/v1/contacts/0000000000000000000000000z", "Bearer " + readKey, 404, "not_found", ""},
		{"junk id", "/api/v1/contacts/..%2f..%2fetc", "Bearer " + readKey, 404, "not_found", ""},
		{"bad cursor", "/api/v1/contacts?cursor=zzz", "Bearer " + readKey, 400, "bad_cursor", ""},
		{"unknown route", "/api/v1/nothing", "Bearer " + readKey, 404, "not_found", ""},
		{"ok", "/api/v1/contacts/" + c.ID, "Bearer " + readKey, 200, "", "api.person@example.com"},
		{"list", "/api/v1/contacts", "Bearer " + readKey, 200, "", `"total":1`},
		{"me", "/api/v1/me", "Bearer " + eventsKey, 200, "", `"slug":"shop"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.auth != "" {
				hdr = []string{"Authorization", tc.auth}
			}
			r := b.do("GET", tc.path, nil, hdr...)
			if r.status != tc.want {
				t.Fatalf("status %d, want %d: %s", r.status, tc.want, r.body)
			}
			if tc.wantCode != "" {
				if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
					t.Fatalf("Content-Type %q, want application/problem+json", ct)
				}
				var p map[string]any
				if err := json.Unmarshal([]byte(r.body), &p); err != nil {
					t.Fatal(err)
				}
				if p["code"] != tc.wantCode || p["detail"] == "" || p["status"] != float64(tc.want) {
					t.Fatalf("problem %v", p)
				}
			}
			if !strings.Contains(r.body, tc.body) {
				t.Fatalf("body lacks %q: %s", tc.body, r.body)
			}
		})
	}
	r := b.get("/api/v1/openapi.json")
	var doc map[string]any
	if r.status != 200 || json.Unmarshal([]byte(r.body), &doc) != nil || doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi.json: %d", r.status)
	}
}

func TestOperations(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	if r := b.get("/healthz"); r.status != 200 {
		t.Fatalf("healthz %d", r.status)
	}
	if r := b.get("/readyz"); r.status != 200 {
		t.Fatalf("readyz %d: %s", r.status, r.body)
	}
	b.get("/login")
	r := b.get("/metrics")
	if r.status != 200 || !strings.Contains(r.body, `avis_http_request_duration_seconds_bucket{code="2xx",method="GET",route="GET /login"`) {
		t.Fatalf("metrics lack the login latency histogram:\n%.2000s", r.body)
	}
	// readyz says so when the schema is behind.
	if _, err := e.db.W.ExecContext(context.Background(), `DELETE FROM schema_migrations WHERE version = 1`); err != nil {
		t.Fatal(err)
	}
	if r := b.get("/readyz"); r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "avis migrate") {
		t.Fatalf("readyz with an old schema: %d %s", r.status, r.body)
	}
	e.db.Close()
	if r := b.get("/readyz"); r.status != http.StatusServiceUnavailable {
		t.Fatalf("readyz with the database closed: %d", r.status)
	}
	if r := b.get("/healthz"); r.status != 200 {
		t.Fatalf("healthz must not depend on the database: %d", r.status)
	}
}
