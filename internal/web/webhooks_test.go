package web_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/crmsync"
)

// hookReceiver is a webhook endpoint on loopback that keeps what it got and
// checks each signature as the Standard Webhooks specification says.
type hookReceiver struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	secret string
	got    []hookHit
}

type hookHit struct {
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
	id        string
	body      string
	verified  bool
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{t: t}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var hit hookHit
		json.Unmarshal(body, &hit)
		hit.id, hit.body = r.Header.Get("webhook-id"), string(body)
		h.mu.Lock()
		key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(h.secret, "whsec_"))
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(hit.id + "." + r.Header.Get("webhook-timestamp") + "." + string(body)))
		want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
		for _, s := range strings.Fields(r.Header.Get("webhook-signature")) {
			hit.verified = hit.verified || hmac.Equal([]byte(s), []byte(want))
		}
		h.got = append(h.got, hit)
		h.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) hits() []hookHit {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookHit(nil), h.got...)
}

// waitHits waits until the receiver got n requests (no time limit: go
// test's -timeout names a hang).
func (h *hookReceiver) waitHits(n int) []hookHit {
	for len(h.hits()) < n {
		time.Sleep(10 * time.Millisecond)
	}
	return h.hits()
}

var secretRe = regexp.MustCompile(`<code class="key" id="new-secret">(whsec_[A-Za-z0-9+/=]+)</code>`)

// TestWebhooksDoneWhen: an owner adds a webhook in the UI, sends a test
// ping, a person answers a survey, and the signed webhooks arrive with the
// least data (no comment, no name); switching personal data on is said to
// be a transfer and audited, and the next payload carries the comment.
func TestWebhooksDoneWhen(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	shop := newAnswerShop(t, e, "shop", answerSurvey)
	rcv := newHookReceiver(t)
	b := e.loggedIn("shop-owner@example.com").english()

	r := b.get("/webhooks")
	if r.status != http.StatusOK || !strings.Contains(r.body, "No webhook endpoint yet.") || !strings.Contains(r.body, "transfers personal data to the recipient") {
		t.Fatalf("/webhooks: %d\n%s", r.status, r.body)
	}
	tok := b.csrf("/webhooks")
	// Problems are said next to their field.
	r = b.post("/webhooks", url.Values{"csrf": {tok}, "url": {"ftp://crm.example.com/hook"}, "enabled": {"1"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="wh-url-err"`) || !strings.Contains(r.body, "The URL must start with https://.") ||
		!strings.Contains(r.body, "Choose at least one event.") {
		t.Fatalf("bad endpoint: %d\n%s", r.status, r.body)
	}
	form := url.Values{"csrf": {tok}, "url": {rcv.srv.URL + "/avis"}, "description": {"CRM"}, "enabled": {"1"},
		"events": {"response.created", "response.completed", "subject.erased"}}
	r = b.post("/webhooks", form)
	m := secretRe.FindStringSubmatch(html.UnescapeString(r.body))
	if r.status != http.StatusCreated || m == nil {
		t.Fatalf("add: %d\n%s", r.status, r.body)
	}
	rcv.mu.Lock()
	rcv.secret = m[1]
	rcv.mu.Unlock()
	epID := regexp.MustCompile(`action="/webhooks/([0-9a-z]{26})/test"`).FindStringSubmatch(r.body)[1]
	if again := b.get("/webhooks/" + epID); strings.Contains(html.UnescapeString(again.body), m[1]) {
		t.Fatal("the secret is shown a second time")
	}

	// Test ping: delivered at once, the result on the page.
	r = b.post("/webhooks/"+epID+"/test", url.Values{"csrf": {tok}})
	if r.status != http.StatusOK || !strings.Contains(r.body, "Delivered: the endpoint answered 200") {
		t.Fatalf("test ping: %d\n%s", r.status, r.body)
	}
	if hits := rcv.hits(); len(hits) != 1 || hits[0].Type != "webhook.test" || !hits[0].verified {
		t.Fatalf("test ping received: %+v", hits)
	}

	// A detractor answers: response.created then response.completed.
	token, contactID := shop.invite(t, "jeanne@example.org", "fr")
	p := e.respondent()
	page := p.get("/s/" + token)
	_, page = p.send(page, answers("q_nps", "3", "q_why", "Livré avec trois jours de retard."))
	start := time.Now()
	_, _ = p.send(page, answers("q_delivery", "4", "q_liked", "speed", "q_again", "yes"))
	hits := rcv.waitHits(3)
	t.Logf("response.completed reached the receiver %s after the last page was sent", time.Since(start))
	var completed hookHit
	for _, h := range hits[1:] {
		if !h.verified {
			t.Errorf("%s: the signature does not verify", h.Type)
		}
		if h.Type == "response.completed" {
			completed = h
		}
	}
	if hits[1].Type != "response.created" || completed.Type == "" {
		t.Fatalf("events received: %v", []string{hits[1].Type, hits[2].Type})
	}
	var data struct {
		ResponseID    string `json:"response_id"`
		SurveyID      string `json:"survey_id"`
		SurveyVersion int    `json:"survey_version"`
		StepName      string `json:"step_name"`
		Status        string `json:"status"`
		Scores        []struct {
			QuestionID, Type, Category string
			Value                      int
		} `json:"scores"`
		Answers map[string]struct {
			Number  *int     `json:"number"`
			Choices []string `json:"choices"`
			Text    string   `json:"text"`
		} `json:"answers"`
	}
	if err := json.Unmarshal(completed.Data, &data); err != nil {
		t.Fatal(err)
	}
	if data.SurveyID != shop.survey.ID || data.StepName != "Livraison" || data.Status != "complete" || len(data.Scores) != 2 ||
		data.Answers["liked"].Choices[0] != "speed" || *data.Answers["nps"].Number != 3 {
		t.Errorf("response.completed data: %s", completed.Data)
	}
	for _, leak := range []string{"Livré avec trois jours", "jeanne@example.org", "Jeanne", "Martin"} {
		if strings.Contains(completed.body, leak) {
			t.Errorf("the least-data payload holds %q: %s", leak, completed.body)
		}
	}
	// The delivery log shows it, once recorded.
	for {
		ds, err := e.webhooks.Deliveries(ctx, shop.tenant.ID, epID, "", 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) >= 3 && ds[0].Status == "delivered" && ds[1].Status == "delivered" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	r = b.get("/webhooks/" + epID)
	if !strings.Contains(r.body, "response.completed") || !strings.Contains(r.body, completed.id) || !strings.Contains(r.body, ">delivered<") {
		t.Errorf("delivery log:\n%s", r.body)
	}

	// Personal data on: the form says it is a transfer; it is audited;
	// a replay now carries the comment and the contact.
	form.Set("personal", "1")
	if r = b.post("/webhooks/"+epID, form); r.status != http.StatusOK || !strings.Contains(r.body, "Endpoint saved.") {
		t.Fatalf("switch personal data on: %d\n%s", r.status, r.body)
	}
	if n := e.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'webhook.personal_on' AND object_id = $1`, epID); n != 1 {
		t.Errorf("%d audit entries for switching personal data on", n)
	}
	did := regexp.MustCompile(`action="/webhooks/` + epID + `/deliveries/([0-9a-z]{26})/replay"`).FindStringSubmatch(r.body)
	if did == nil {
		t.Fatalf("no replay button:\n%s", r.body)
	}
	if r = b.post("/webhooks/"+epID+"/deliveries/"+did[1]+"/replay", url.Values{"csrf": {tok}}); r.status != http.StatusOK {
		t.Fatalf("replay: %d\n%s", r.status, r.body)
	}
	hits = rcv.waitHits(4)
	if !strings.Contains(hits[3].body, "Livré avec trois jours") || !strings.Contains(hits[3].body, "jeanne@example.org") || hits[3].id != completed.id {
		t.Errorf("replay with personal data: %s (id %s, want %s)", hits[3].body, hits[3].id, completed.id)
	}

	// Erasure travels: subject.erased, with the external id only.
	if err := e.contacts.Erase(ctx, audit.System("test"), shop.tenant.ID, contactID); err != nil {
		t.Fatal(err)
	}
	hits = rcv.waitHits(5)
	if hits[4].Type != "subject.erased" || !hits[4].verified {
		t.Errorf("after erasure: %s", hits[4].body)
	}

	// Rotation: a new secret shown once, both signatures sent for a day.
	r = b.post("/webhooks/"+epID+"/rotate", url.Values{"csrf": {tok}})
	if m2 := secretRe.FindStringSubmatch(html.UnescapeString(r.body)); m2 == nil || m2[1] == m[1] || !strings.Contains(r.body, "The previous secret also signs deliveries until") {
		t.Fatalf("rotate: %d\n%s", r.status, r.body)
	}
	// Time-range replay with a bad date: the problem next to the field.
	r = b.post("/webhooks/"+epID+"/replay", url.Values{"csrf": {tok}, "from": {"yesterday"}, "to": {"2026-01-01T00:00"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="wh-from-err"`) {
		t.Errorf("range replay with a bad date: %d", r.status)
	}
	// Delete.
	if r = b.post("/webhooks/"+epID+"/delete", url.Values{"csrf": {tok}}); r.status != http.StatusOK || !strings.Contains(r.body, "No webhook endpoint yet.") {
		t.Errorf("delete: %d", r.status)
	}
}

// TestWebhooksPermission: only owners and admins see and change webhooks.
func TestWebhooksPermission(t *testing.T) {
	e := newEnv(t)
	tn, _ := e.tenant("shop", account.RoleOwner)
	if _, err := e.accounts.CreateUser(context.Background(), audit.System("test"), tn.ID, "analyst@example.com", "", testPassword, account.RoleAnalyst); err != nil {
		t.Fatal(err)
	}
	b := e.loggedIn("analyst@example.com")
	if r := b.get("/webhooks"); r.status != http.StatusForbidden {
		t.Errorf("an analyst on /webhooks: %d", r.status)
	}
	if r := e.loggedIn("shop-owner@example.com").get("/"); !strings.Contains(html.UnescapeString(r.body), `href="/webhooks"`) {
		t.Error("no link to /webhooks in the owner's menu")
	}
}

// betaWebhook gives tenant beta an endpoint with a test ping in its log,
// and tenant alpha an API key that manages webhooks, for the isolation
// test.
func betaWebhook(t *testing.T, e *env, betaID, alphaID string) (endpointID, deliveryID, alphaKey string) {
	t.Helper()
	ctx := context.Background()
	rcv := newHookReceiver(t)
	ep, _, err := e.webhooks.Create(ctx, audit.System("test"), betaID, crmsync.EndpointInput{URL: rcv.srv.URL + "/beta", Events: []string{"response.completed"}, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.webhooks.TestSend(ctx, audit.System("test"), betaID, ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	alphaKey, _, err = e.accounts.CreateAPIKey(ctx, audit.System("test"), alphaID, "alpha hooks", []string{"webhooks:write"})
	if err != nil {
		t.Fatal(err)
	}
	return ep.ID, d.ID, alphaKey
}

// webhookFixture gives the tenant an endpoint with a delivered test ping
// and a failed one in its log, for the browser tests; it returns its id.
func webhookFixture(t *testing.T, e *env, tenantID string) string {
	t.Helper()
	ctx := context.Background()
	rcv := newHookReceiver(t)
	ep, _, err := e.webhooks.Create(ctx, audit.System("test"), tenantID, crmsync.EndpointInput{URL: rcv.srv.URL + "/crm", Description: "CRM",
		Events: []string{"response.completed", "subject.erased"}, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.webhooks.TestSend(ctx, audit.System("test"), tenantID, ep.ID); err != nil {
		t.Fatal(err)
	}
	rcv.srv.Close()
	if _, err := e.webhooks.TestSend(ctx, audit.System("test"), tenantID, ep.ID); err != nil {
		t.Fatal(err)
	}
	return ep.ID
}

// TestWebhookUnsubscribed: a person's one-click unsubscribe reaches the
// CRM as contact.unsubscribed with the channel opted out of and nothing
// personal.
func TestWebhookUnsubscribed(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	shop := newAnswerShop(t, e, "shop", answerSurvey)
	rcv := newHookReceiver(t)
	_, secret, err := e.webhooks.Create(ctx, audit.System("test"), shop.tenant.ID, crmsync.EndpointInput{URL: rcv.srv.URL + "/crm",
		Events: []string{"contact.unsubscribed"}, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	rcv.mu.Lock()
	rcv.secret = secret
	rcv.mu.Unlock()
	token, _ := shop.invite(t, "paul@example.org", "fr")
	req, _ := http.NewRequest("POST", e.srv.URL+"/u/"+token, strings.NewReader("List-Unsubscribe=One-Click"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	hit := rcv.waitHits(1)[0]
	if hit.Type != "contact.unsubscribed" || !hit.verified || string(hit.Data) != `{"channels":["email"]}` {
		t.Errorf("contact.unsubscribed: %s (verified %v)", hit.body, hit.verified)
	}
	if strings.Contains(hit.body, "paul@example.org") {
		t.Error("the payload holds the address")
	}
}
