package web_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/channel/email"
	"avis/internal/channel/email/smtptest"
	"avis/internal/config"
	"avis/internal/contact"
	"avis/internal/dispatch"
)

// ruleForm is the invitation rule form as a new user fills it: the
// survey, email, no delay, windows open all day, every day.
func ruleForm(surveyID string) url.Values {
	f := url.Values{"survey": {surveyID}, "enabled": {"1"}, "delay_hours": {"0"}, "channels": {"email"},
		"sample_percent": {"100"}, "cap_days": {"30"}, "reminders": {"1"}, "reminder_days": {"3"}, "expiry_days": {"30"},
		"email_from": {"00:00"}, "email_to": {"24:00"}, "sms_from": {"08:00"}, "sms_to": {"20:00"}}
	for d := range 7 {
		f.Set("email_day_"+string(rune('0'+d)), "1")
		if d > 0 {
			f.Set("sms_day_"+string(rune('0'+d)), "1")
		}
	}
	return f
}

var (
	surveyIDRe = regexp.MustCompile(`/surveys/([0-9a-z]{26})`)
	stepRuleRe = regexp.MustCompile(`/steps/([0-9a-z]{26})/rule`)
	linkRe     = regexp.MustCompile(`https://links\.example\.fr/(s|u)/([A-Za-z0-9_-]{22})`)
)

// TestInvitationFlow is the "done when" of flow 2: a new user creates a
// journey, a survey, a rule and a DKIM key in the UI, posts an event through
// the API, and the invitation arrives at a real SMTP server, personalised,
// DKIM-signed, with a working survey link and a one-click unsubscribe.
func TestInvitationFlow(t *testing.T) {
	srv, err := smtptest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	e := newEnvWith(t, func(c *config.Config) { c.SMTPURL = srv.URL })
	ctx := context.Background()
	tn, _ := e.tenant("shop", account.RoleOwner)
	b := e.loggedIn("shop-owner@example.com")

	// A journey with a delivery step.
	if r := b.post("/journeys", url.Values{"name": {"Commande"}, "key_0": {"delivery"}, "step_0": {"Livraison"}}); r.status >= 400 {
		t.Fatalf("create journey: %d\n%s", r.status, r.body)
	}
	m := stepRuleRe.FindStringSubmatch(b.get("/journeys").body)
	if m == nil {
		t.Fatal("the journeys page links no invitation rule")
	}
	step := m[1]
	// A survey.
	r := b.post("/surveys", url.Values{"name": {"Livraison"}, "default_language": {"fr"}})
	sm := surveyIDRe.FindStringSubmatch(r.header.Get("Location"))
	if r.status != http.StatusSeeOther || sm == nil {
		t.Fatalf("create survey: %d %s", r.status, r.header.Get("Location"))
	}
	// A rule with a text that does not compile is refused, with the line, in
	// the page's language (French).
	bad := ruleForm(sm[1])
	bad.Set("body_fr", "Bonjour\n{{ prenom }}")
	if r := b.post("/steps/"+step+"/rule", bad); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "ligne 2") || !strings.Contains(r.body, "first_name") {
		t.Fatalf("bad template: %d\n%s", r.status, r.body)
	}
	good := ruleForm(sm[1])
	good.Set("subject_fr", "{{ company }} : votre livraison")
	if r := b.post("/steps/"+step+"/rule", good); r.status != http.StatusOK {
		t.Fatalf("save rule: %d\n%s", r.status, r.body)
	}
	if rule, err := e.dispatch.RuleForStep(ctx, tn.ID, step); err != nil || rule.SurveyID != sm[1] || rule.Texts["fr"].Subject == "" {
		t.Fatalf("saved rule: %+v, %v", rule, err)
	}
	// Sender, DKIM key and a link domain.
	if r := b.post("/messaging", url.Values{"from_name": {"La Boutique"}, "from_email": {"avis@boutique.example"},
		"reply_to": {"service@boutique.example"}, "dkim_domain": {"boutique.example"}, "dkim_selector": {"avis"},
		"dkim_generate": {"1"}, "dkim_kind": {"ed25519"}, "link_base_url": {"https://links.example.fr"}}); r.status != http.StatusOK ||
		!strings.Contains(r.body, "avis._domainkey.boutique.example") {
		t.Fatalf("messaging settings: %d\n%s", r.status, r.body)
	}
	st, _ := e.dispatch.Settings(ctx, tn.ID)
	signer, err := email.ParseDKIMKey(st.DKIMKey)
	if err != nil {
		t.Fatal(err)
	}
	_, txt, _ := (&email.DKIMKey{Domain: "boutique.example", Selector: "avis", Signer: signer}).DNSRecord()

	// A contact, and an event posted through the API.
	c, err := e.contacts.Create(ctx, audit.System("test"), tn.ID, contact.Input{Email: "jeanne@example.org", FirstName: "Jeanne", Language: "fr"})
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := e.accounts.CreateAPIKey(ctx, audit.System("test"), tn.ID, "crm", []string{"events:write"})
	if err != nil {
		t.Fatal(err)
	}
	status, out := apiClient{t, e, key}.post("/api/v1/events", "application/json", `{"contact": {"id": "`+c.ID+`"}, "step": "delivery"}`)
	res, _ := out["results"].([]any)
	if status != http.StatusOK || len(res) != 1 || res[0].(map[string]any)["invitation_status"] != "scheduled" {
		t.Fatalf("event: %d %v", status, out)
	}
	select {
	case <-srv.Received():
	case <-time.After(20 * time.Second):
		t.Fatal("no message reached the SMTP server within 20 s")
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || msgs[0].To[0] != "jeanne@example.org" {
		t.Fatalf("the SMTP server got %d messages", len(msgs))
	}
	raw := msgs[0].Data
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{LookupTXT: func(string) ([]string, error) { return []string{txt}, nil }})
	if err != nil || len(verifs) != 1 || verifs[0].Err != nil {
		t.Fatalf("DKIM: %v %+v", err, verifs)
	}
	parsed, _ := mail.ReadMessage(bytes.NewReader(raw))
	subject, _ := new(mime.WordDecoder).DecodeHeader(parsed.Header.Get("Subject"))
	if subject != "Company shop : votre livraison" {
		t.Errorf("Subject = %q", subject)
	}
	if parsed.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" || !strings.Contains(parsed.Header.Get("List-Unsubscribe"), "https://links.example.fr/u/") {
		t.Errorf("unsubscribe headers: %q / %q", parsed.Header.Get("List-Unsubscribe"), parsed.Header.Get("List-Unsubscribe-Post"))
	}
	body := parts(t, raw)
	if !strings.Contains(body, "Bonjour Jeanne") || !strings.Contains(body, "Livraison") {
		t.Error("the message is not personalised")
	}
	links := linkRe.FindAllStringSubmatch(body, -1)
	var token string
	for _, l := range links {
		if l[1] == "s" {
			token = l[2]
		}
	}
	if token == "" {
		t.Fatal("no survey link in the message")
	}
	// The link's token finds the invitation (the survey page is flow 3).
	if tid, inv, err := e.dispatch.ByToken(ctx, token); err != nil || tid != tn.ID || inv.Status != dispatch.StatusSent {
		t.Fatalf("token: %v %+v", err, inv)
	}

	// One-click unsubscribe as a mail provider does it: no cookie, 200.
	req, _ := http.NewRequest("POST", e.srv.URL+"/u/"+token, strings.NewReader("List-Unsubscribe=One-Click"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(resp.Header.Values("Set-Cookie")) > 0 {
		t.Fatalf("one-click unsubscribe: %d, cookies %v", resp.StatusCode, resp.Header.Values("Set-Cookie"))
	}
	// The live view counts it.
	if r := b.get("/invitations"); r.status != http.StatusOK || !strings.Contains(r.body, "/invitations?status=sent") {
		t.Fatalf("invitations page: %d\n%s", r.status, r.body)
	}
	// A new event for this person is suppressed at once.
	e.advance(40 * 24 * time.Hour)
	_, out = apiClient{t, e, key}.post("/api/v1/events", "application/json", `{"contact": {"id": "`+c.ID+`"}, "step": "delivery", "idempotency_key": "second"}`)
	if res, _ := out["results"].([]any); len(res) != 1 || res[0].(map[string]any)["invitation_status"] != "suppressed" {
		t.Fatalf("after unsubscribe: %v", out)
	}

}

// parts returns the decoded text and HTML parts of a message.
func parts(t *testing.T, raw []byte) string {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	_, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var out strings.Builder
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		out.Write(b)
	}
	return out.String()
}

// TestOutboxAndPreview: with no relay, invitations land in the outbox,
// shown as sent; the rule's preview renders a contact's message; the
// unsubscribe page works without a session and sets no cookie.
func TestOutboxAndPreview(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn, _ := e.tenant("shop", account.RoleOwner)
	b := e.loggedIn("shop-owner@example.com")
	b.post("/journeys", url.Values{"name": {"Commande"}, "key_0": {"delivery"}, "step_0": {"Livraison"}})
	step := stepRuleRe.FindStringSubmatch(b.get("/journeys").body)[1]
	sm := surveyIDRe.FindStringSubmatch(b.post("/surveys", url.Values{"name": {"S"}, "default_language": {"fr"}}).header.Get("Location"))
	if r := b.post("/steps/"+step+"/rule", ruleForm(sm[1])); r.status != http.StatusOK {
		t.Fatalf("save rule: %d\n%s", r.status, r.body)
	}
	c, _ := e.contacts.Create(ctx, audit.System("test"), tn.ID, contact.Input{Email: "paul@example.org", FirstName: "Paul", Language: "fr"})

	// Preview for the contact, from the form as typed.
	f := ruleForm(sm[1])
	f.Set("contact", c.ID)
	f.Set("subject_fr", "Paul, un mot ?")
	r := b.post("/steps/"+step+"/rule/preview", f)
	if r.status != http.StatusOK || !strings.Contains(r.body, "Paul, un mot ?") || !strings.Contains(r.body, "Bonjour Paul") {
		t.Fatalf("preview: %d\n%s", r.status, r.body)
	}
	// A test send goes to the outbox.
	f.Set("to", "me@example.com")
	if r := b.post("/steps/"+step+"/rule/test", f); r.status != http.StatusOK || !strings.Contains(r.body, "outbox") {
		t.Fatalf("test send: %d\n%s", r.status, r.body)
	}

	key, _, _ := e.accounts.CreateAPIKey(ctx, audit.System("test"), tn.ID, "crm", []string{"events:write"})
	apiClient{t, e, key}.post("/api/v1/events", "application/json", `{"contact": {"id": "`+c.ID+`"}, "step": "delivery"}`)
	deadline := time.Now().Add(20 * time.Second)
	var box []dispatch.OutboxMessage
	for len(box) < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		box, _ = e.dispatch.Outbox(ctx, tn.ID, "", 10)
	}
	if len(box) != 2 || box[0].Kind != "invitation" {
		t.Fatalf("outbox: %+v", box)
	}
	page := b.get("/outbox/" + box[0].ID)
	if page.status != http.StatusOK || !strings.Contains(page.body, "paul@example.org") || !strings.Contains(page.body, "Bonjour Paul") {
		t.Fatalf("outbox message page: %d\n%s", page.status, page.body)
	}
	html := b.get("/outbox/" + box[0].ID + "/html")
	if html.status != http.StatusOK || !strings.Contains(html.header.Get("Content-Security-Policy"), "sandbox") || !strings.Contains(html.body, "Paul") {
		t.Fatalf("outbox HTML: %d %q", html.status, html.header.Get("Content-Security-Policy"))
	}
	// Reading a message is audited.
	recs, _ := e.audit.List(ctx, tn.ID, audit.Filter{})
	found := false
	for _, rec := range recs {
		found = found || rec.Action == "outbox.read"
	}
	if !found {
		t.Error("reading the outbox message was not audited")
	}

	// The unsubscribe page of the invitation, for anyone with the link.
	raw := string(page.body)
	m := regexp.MustCompile(`/u/([A-Za-z0-9_-]{22})`).FindStringSubmatch(raw)
	if m == nil {
		t.Fatal("no unsubscribe link in the outbox message")
	}
	anon := e.browser()
	if r := anon.get("/u/" + m[1]); r.status != http.StatusOK || !strings.Contains(r.body, `action="/u/`+m[1]+`"`) || len(r.header.Values("Set-Cookie")) > 0 {
		t.Fatalf("unsubscribe page: %d cookies %v", r.status, r.header.Values("Set-Cookie"))
	}
	if r := anon.do("POST", "/u/"+m[1], url.Values{}); r.status != http.StatusOK || strings.Contains(r.body, `action="/u/`) {
		t.Fatalf("unsubscribe: %d\n%s", r.status, r.body)
	}
	if r := anon.get("/u/" + strings.Repeat("A", 22)); r.status != http.StatusNotFound {
		t.Fatalf("unknown token: %d", r.status)
	}
	// A viewer cannot read the outbox (personal data).
	_, _ = e.accounts.CreateUser(ctx, audit.System("test"), tn.ID, "viewer@example.com", "V", testPassword, account.RoleViewer)
	if r := e.loggedIn("viewer@example.com").get("/outbox/" + box[0].ID); r.status != http.StatusForbidden && r.status != http.StatusNotFound {
		t.Fatalf("viewer reads the outbox: %d", r.status)
	}
}
