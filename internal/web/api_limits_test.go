package web_test

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/config"
	"avis/internal/contact"
	"avis/internal/idempotency"
)

// TestAPIIdempotency: a retried POST with the same Idempotency-Key gets
// the first answer without the work being done again; the same key with
// another body is refused; a key whose request still runs gets 409; a
// retried erasure gets the same receipt.
func TestAPIIdempotency(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tn, _ := e.tenant("shop", account.RoleOwner)
	key, k, _ := e.accounts.CreateAPIKey(ctx, audit.System("test"), tn.ID, "crm", []string{"contacts:write", "subjects:write"})
	body := `[{"external_id":"C1","email":"idem@example.com"}]`

	st, h1, first := apiDo(t, e, "POST", "/api/v1/contacts", key, strings.NewReader(body), "Idempotency-Key", "import-1")
	if st != 200 || first["created"] != float64(1) || h1.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first: %d %v", st, first)
	}
	// Without replay, the same import again would say "unchanged".
	st, h2, again := apiDo(t, e, "POST", "/api/v1/contacts", key, strings.NewReader(body), "Idempotency-Key", "import-1")
	if st != 200 || mustJSON(again) != mustJSON(first) || h2.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %v (first %v)", st, again, first)
	}
	if n, _ := e.contacts.Count(ctx, tn.ID); n != 1 {
		t.Fatalf("%d contacts", n)
	}
	// The same key with another body.
	st, _, p := apiDo(t, e, "POST", "/api/v1/contacts", key, strings.NewReader(`[{"external_id":"C2","email":"other@example.com"}]`), "Idempotency-Key", "import-1")
	if st != 422 || p["type"] != "urn:avis:problem:idempotency-key-reused" {
		t.Fatalf("reused key: %d %v", st, p)
	}
	// Another key of the same tenant has keys of its own.
	key2, _, _ := e.accounts.CreateAPIKey(ctx, audit.System("test"), tn.ID, "crm2", []string{"contacts:write"})
	if st, _, p := apiDo(t, e, "POST", "/api/v1/contacts", key2, strings.NewReader(body), "Idempotency-Key", "import-1"); st != 200 || p["unchanged"] != float64(1) {
		t.Fatalf("another API key: %d %v", st, p)
	}
	// A request with this key still running.
	store := idempotency.New(e.db)
	if state, _, err := store.Begin(ctx, idempotency.Ref{TenantID: tn.ID, APIKeyID: k.ID, Key: "running"}); err != nil || state != idempotency.Fresh {
		t.Fatalf("begin: %v %v", state, err)
	}
	st, hdr, p := apiDo(t, e, "POST", "/api/v1/contacts", key, strings.NewReader(body), "Idempotency-Key", "running")
	if st != 409 || p["type"] != "urn:avis:problem:idempotency-key-in-use" || hdr.Get("Retry-After") == "" {
		t.Fatalf("running: %d %v", st, p)
	}
	// A key that is not printable ASCII, or too long.
	for _, bad := range []string{strings.Repeat("k", 256), "clé"} {
		if st, _, p := apiDo(t, e, "POST", "/api/v1/contacts", key, strings.NewReader(body), "Idempotency-Key", bad); st != 400 || p["type"] != "urn:avis:problem:bad-idempotency-key" {
			t.Fatalf("key %q: %d %v", bad, st, p)
		}
	}
	// A retried erasure gets its receipt again.
	if _, err := e.contacts.Create(ctx, audit.System("test"), tn.ID, contact.Input{ExternalID: "GONE-1", Email: "gone@example.com"}); err != nil {
		t.Fatal(err)
	}
	st, _, r1 := apiDo(t, e, "DELETE", "/api/v1/subjects/GONE-1", key, nil, "Idempotency-Key", "erase-gone-1")
	st2, _, r2 := apiDo(t, e, "DELETE", "/api/v1/subjects/GONE-1", key, nil, "Idempotency-Key", "erase-gone-1")
	if st != 200 || st2 != 200 || mustJSON(r1) != mustJSON(r2) || r1["request_id"] == nil {
		t.Fatalf("erasure retried: %d %v, then %d %v", st, r1, st2, r2)
	}
	// The purge forgets records older than a day (and only those).
	if n, err := store.Purge(ctx); err != nil || n != 0 {
		t.Fatalf("purge now: %d %v", n, err)
	}
	if e.count(`SELECT count(*) FROM api_idempotency`) == 0 {
		t.Fatal("no idempotency record stored")
	}
	if e.count(`SELECT count(*) FROM api_idempotency WHERE answer_ciphertext IS NOT NULL AND status > 0`) == 0 {
		t.Fatal("no answer stored")
	}
}

var rateRe = regexp.MustCompile(`^"key";r=(\d+);t=(\d+)$`)

// TestAPIRateLimit: each API key has its bucket; every answer says what is
// left, and past it the key gets 429 with Retry-After.
func TestAPIRateLimit(t *testing.T) {
	ctx := context.Background()
	e := newEnvWith(t, func(c *config.Config) { c.APIRate, c.APIBurst = 1, 3 })
	tn, _ := e.tenant("shop", account.RoleOwner)
	key, _, _ := e.accounts.CreateAPIKey(ctx, audit.System("test"), tn.ID, "crm", []string{"contacts:read"})
	other, _, _ := e.accounts.CreateAPIKey(ctx, audit.System("test"), tn.ID, "other", []string{"contacts:read"})
	for i := range 3 {
		st, h, _ := apiDo(t, e, "GET", "/api/v1/contacts", key, nil)
		m := rateRe.FindStringSubmatch(h.Get("RateLimit"))
		if st != 200 || h.Get("RateLimit-Policy") != `"key";q=3;w=3` || m == nil {
			t.Fatalf("request %d: %d %q %q", i+1, st, h.Get("RateLimit-Policy"), h.Get("RateLimit"))
		}
		if left, _ := strconv.Atoi(m[1]); left > 2-i {
			t.Fatalf("request %d: %d left", i+1, left)
		}
	}
	st, h, p := apiDo(t, e, "GET", "/api/v1/contacts", key, nil)
	if st != 429 || p["type"] != "urn:avis:problem:rate-limited" || h.Get("Retry-After") == "" || h.Get("RateLimit") == "" {
		t.Fatalf("past the limit: %d %v %v", st, h, p)
	}
	if n, _ := strconv.Atoi(h.Get("Retry-After")); n < 1 {
		t.Fatalf("Retry-After %q", h.Get("Retry-After"))
	}
	if st, _, _ := apiDo(t, e, "GET", "/api/v1/contacts", other, nil); st != 200 {
		t.Fatalf("another key: %d", st)
	}
}

// TestAPIDocs: the reference page lists every operation of the document
// and every problem type, loads nothing, and needs no login.
func TestAPIDocs(t *testing.T) {
	e := newEnv(t)
	doc, _, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	r := e.browser().get("/api/docs")
	if r.status != 200 {
		t.Fatalf("/api/docs: %d", r.status)
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !strings.Contains(r.body, "<code>"+method+" /api/v1"+path+"</code>") {
				t.Errorf("the reference lacks %s %s", method, path)
			}
		}
	}
	for _, want := range []string{"urn:avis:problem:rate-limited", "urn:avis:problem:idempotency-key-reused", `id="schema-Response"`, `href="#schema-Response"`, `lang="en"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the reference lacks %s", want)
		}
	}
	if regexp.MustCompile(`<script|src="https?:|href="https?:`).MatchString(r.body) {
		t.Error("the reference loads a script or links to another site")
	}
}
