package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/journey"
)

type apiClient struct {
	t   *testing.T
	e   *env
	key string
}

func (c apiClient) post(path, contentType, body string) (int, map[string]any) {
	c.t.Helper()
	req, _ := http.NewRequest("POST", c.e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", contentType)
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer r.Body.Close()
	var out map[string]any
	json.NewDecoder(r.Body).Decode(&out)
	return r.StatusCode, out
}

func TestAPIContactsImport(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tn, _ := e.tenant("shop", account.RoleOwner)
	key, _, _ := e.accounts.CreateAPIKey(ctx, audit.System("test"), tn.ID, "crm", []string{"contacts:write", "contacts:read"})
	readOnly, _, _ := e.accounts.CreateAPIKey(ctx, audit.System("test"), tn.ID, "ro", []string{"contacts:read"})
	c := apiClient{t, e, key}
	body := `[{"external_id":"C1","email":"Anna.Schmidt@example.de","first_name":"Anna","phone":"+49 30 1234567","attributes":{"store":"Berlin"}},
	          {"external_id":"C2","email":"not-an-email"},
	          {"external_id":"C3","email":"c3@example.com","country":"Deutschland","language":"Deutsch"}]`
	status, rep := c.post("/api/v1/contacts", "application/json", body)
	if status != 200 || rep["created"] != float64(2) || rep["rejected"] != float64(1) {
		t.Fatalf("import: %d %v", status, rep)
	}
	rejects := rep["rejects"].([]any)
	if r0 := rejects[0].(map[string]any); r0["item"] != float64(2) || r0["field"] != "email" {
		t.Fatalf("reject: %v", rejects)
	}
	// Same batch again: unchanged.
	if _, rep := c.post("/api/v1/contacts", "application/json", body); rep["unchanged"] != float64(2) {
		t.Fatalf("again: %v", rep)
	}
	// JSON Lines stream.
	var lines strings.Builder
	for i := range 2500 {
		lines.WriteString(`{"external_id":"L` + strconv.Itoa(i) + `","email":"l` + strconv.Itoa(i) + `@example.com"}` + "\n")
	}
	if status, rep := c.post("/api/v1/contacts", "application/x-ndjson", lines.String()); status != 200 || rep["created"] != float64(2500) {
		t.Fatalf("jsonl: %d %v", status, rep)
	}
	cases := []struct {
		name, ctype, body string
		key               string
		want              int
		code              string
	}{
		{"not json", "application/json", "hello", key, 400, "bad_body"},
		{"object not array", "application/json", `{"email":"x@example.com"}`, key, 400, "bad_body"},
		{"empty array", "application/json", `[]`, key, 400, "bad_body"},
		{"unknown field", "application/json", `[{"emial":"x@example.com"}]`, key, 400, "unknown_field"},
		{"nested value", "application/json", `[{"email":{"a":1}}]`, key, 400, "bad_body"},
		{"too many", "application/json", "[" + strings.Repeat(`{"email":"x@example.com"},`, 1000) + `{"email":"y@example.com"}]`, key, 413, "too_many_items"},
		{"wrong scope", "application/json", `[{"email":"x@example.com"}]`, readOnly, 403, "insufficient_scope"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, p := apiClient{t, e, tc.key}.post("/api/v1/contacts", tc.ctype, tc.body)
			if status != tc.want || p["code"] != tc.code || p["detail"] == "" {
				t.Fatalf("%d %v, want %d %s", status, p, tc.want, tc.code)
			}
		})
	}
	if n, _ := e.contacts.Count(ctx, tn.ID); n != 2502 {
		t.Fatalf("%d contacts", n)
	}
}

func TestAPIEvents(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tn, _ := e.tenant("shop", account.RoleOwner)
	key, _, _ := e.accounts.CreateAPIKey(ctx, audit.System("test"), tn.ID, "crm", []string{"events:write"})
	if _, err := e.journeys.CreateJourney(ctx, audit.System("test"), tn.ID, "Order", []journey.StepInput{{Key: "delivery", Name: "Delivery"}}); err != nil {
		t.Fatal(err)
	}
	c := apiClient{t, e, key}
	body := `[{"contact":{"external_id":"C9","email":"ev@example.com","first_name":"Eva"},"step":"delivery","occurred_at":"2026-11-28T10:00:00+01:00","attributes":{"store":"Nice"},"idempotency_key":"order-9-delivered"},
	          {"contact":{"email":"bad@@x"},"step":"delivery"},
	          {"contact":{"external_id":"C9"},"step":"nope"},
	          {"contact":{"external_id":"C9"},"step":"delivery","attributes":{"who":"ev@example.com"}}]`
	status, out := c.post("/api/v1/events", "application/json", body)
	if status != 200 {
		t.Fatalf("events: %d %v", status, out)
	}
	res := out["results"].([]any)
	want := []string{"created", "rejected", "rejected", "rejected"}
	for i, w := range want {
		if got := res[i].(map[string]any)["status"]; got != w {
			t.Fatalf("item %d: %v, want %s (%v)", i+1, got, w, res[i])
		}
	}
	contactID := res[0].(map[string]any)["contact_id"].(string)
	// The same event again (a retry) lands once.
	_, out = c.post("/api/v1/events", "application/json", `{"contact":{"id":"`+contactID+`"},"step":"delivery","idempotency_key":"order-9-delivered"}`)
	if r0 := out["results"].([]any)[0].(map[string]any); r0["status"] != "duplicate" {
		t.Fatalf("retry: %v", out)
	}
	tps, _ := e.journeys.Touchpoints(ctx, tn.ID, contactID)
	if len(tps) != 1 || tps[0].Attributes["store"] != "Nice" {
		t.Fatalf("touchpoints: %+v", tps)
	}
	// Another tenant's contact id is unknown here.
	other, _ := e.tenant("other", account.RoleOwner)
	okey, _, _ := e.accounts.CreateAPIKey(ctx, audit.System("test"), other.ID, "crm", []string{"events:write"})
	e.journeys.CreateJourney(ctx, audit.System("test"), other.ID, "Order", []journey.StepInput{{Key: "delivery", Name: "Delivery"}})
	status, out = apiClient{t, e, okey}.post("/api/v1/events", "application/json", `{"contact":{"id":"`+contactID+`"},"step":"delivery"}`)
	if status != 422 || !strings.Contains(mustJSON(out), "no contact has this id") {
		t.Fatalf("cross-tenant contact id: %d %v", status, out)
	}
	if status, p := c.post("/api/v1/events", "application/json", `{"contact":{},"step":"delivery","extra":1}`); status != 400 ||
		p["type"] != "urn:avis:problem:unknown-field" || !strings.Contains(mustJSON(p["errors"]), `"path":"extra"`) {
		t.Fatalf("unknown field: %d %v", status, p)
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }
