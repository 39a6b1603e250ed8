package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"avis/internal/account"
	"avis/internal/audit"
)

// TestAPIWebhooks drives /api/v1/webhooks as a CRM script would: create
// (the secret once), list, get, change, rotate, delete; each bad request
// gets a problem that says what to do. Every request and answer is checked
// against the OpenAPI document (apiContract).
func TestAPIWebhooks(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tn, _ := e.tenant("shop", account.RoleOwner)
	other, _ := e.tenant("other", account.RoleOwner)
	key, _, _ := e.accounts.CreateAPIKey(ctx, audit.System("test"), tn.ID, "crm", []string{"webhooks:write"})
	readKey, _, _ := e.accounts.CreateAPIKey(ctx, audit.System("test"), tn.ID, "reader", []string{"responses:read"})
	otherKey, _, _ := e.accounts.CreateAPIKey(ctx, audit.System("test"), other.ID, "crm", []string{"webhooks:write"})
	rcv := newHookReceiver(t)
	call := func(method, path, k, body string) (int, map[string]any, string) {
		t.Helper()
		req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+k)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		var m map[string]any
		json.Unmarshal(raw, &m)
		return res.StatusCode, m, string(raw)
	}

	// Create: 201, the secret once, least data by default.
	st, ep, raw := call("POST", "/api/v1/webhooks", key, `{"url": "`+rcv.srv.URL+`/hook", "events": ["response.completed"], "description": "CRM"}`)
	if st != http.StatusCreated || !strings.HasPrefix(ep["secret"].(string), "whsec_") || ep["include_personal"] != false || ep["enabled"] != true {
		t.Fatalf("create: %d %s", st, raw)
	}
	id := ep["id"].(string)
	for _, tc := range []struct {
		name, method, path, k, body string
		want                        int
		code, says                  string
	}{
		{"wrong scope", "GET", "/api/v1/webhooks", readKey, "", 403, "insufficient_scope", "webhooks:write"},
		{"another tenant's", "GET", "/api/v1/webhooks/" + id, otherKey, "", 404, "not_found", ""},
		{"another tenant's change", "PATCH", "/api/v1/webhooks/" + id, otherKey, `{"enabled": false}`, 404, "not_found", ""},
		{"unknown field", "POST", "/api/v1/webhooks", key, `{"url": "https://93.184.215.14/", "events": ["response.completed"], "secret": "x"}`, 400, "unknown_field", "secret"},
		{"not JSON", "POST", "/api/v1/webhooks", key, `{"url": `, 400, "bad_json", ""},
		{"password in the URL", "POST", "/api/v1/webhooks", key, `{"url": "https://crm:pw@93.184.215.14/hook", "events": ["response.completed"]}`, 422, "bad_field", "user name or password"},
		{"no event", "POST", "/api/v1/webhooks", key, `{"url": "https://93.184.215.14/hook", "events": []}`, 422, "bad_field", "at least one event"},
		{"unknown event", "POST", "/api/v1/webhooks", key, `{"url": "https://93.184.215.14/hook", "events": ["review.published"]}`, 422, "bad_field", "review.published"},
		{"too large", "POST", "/api/v1/webhooks", key, `{"description": "` + strings.Repeat("a", 20000) + `"}`, 413, "too_large", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, p, raw := call(tc.method, tc.path, tc.k, tc.body)
			if st != tc.want || p["code"] != tc.code || !strings.Contains(raw, tc.says) {
				t.Errorf("%d %s, want %d %s saying %q", st, raw, tc.want, tc.code, tc.says)
			}
		})
	}

	// List and get: never the secret again.
	st, list, raw := call("GET", "/api/v1/webhooks", key, "")
	if st != 200 || len(list["data"].([]any)) != 1 || strings.Contains(raw, "whsec_") {
		t.Fatalf("list: %d %s", st, raw)
	}
	if st, _, raw = call("GET", "/api/v1/webhooks/"+id, key, ""); st != 200 || strings.Contains(raw, "whsec_") {
		t.Fatalf("get: %d %s", st, raw)
	}
	// Change only what is given; switching personal data on is audited.
	st, ep, raw = call("PATCH", "/api/v1/webhooks/"+id, key, `{"include_personal": true, "events": ["response.completed", "subject.erased"]}`)
	if st != 200 || ep["include_personal"] != true || ep["description"] != "CRM" || len(ep["events"].([]any)) != 2 {
		t.Fatalf("patch: %d %s", st, raw)
	}
	if n := e.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'webhook.personal_on' AND object_id = $1`, id); n != 1 {
		t.Errorf("%d audit entries for personal data switched on by the API", n)
	}
	// Rotate: a new secret, the previous one valid a day more.
	st, ep, raw = call("POST", "/api/v1/webhooks/"+id+"/rotate", key, "")
	if st != 200 || !strings.HasPrefix(ep["secret"].(string), "whsec_") || ep["previous_secret_until"] == nil {
		t.Fatalf("rotate: %d %s", st, raw)
	}
	// Delete, then it is gone.
	if st, _, raw = call("DELETE", "/api/v1/webhooks/"+id, key, ""); st != http.StatusNoContent {
		t.Fatalf("delete: %d %s", st, raw)
	}
	if st, _, _ = call("GET", "/api/v1/webhooks/"+id, key, ""); st != 404 {
		t.Errorf("after delete: %d", st)
	}
}
