package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/config"
	"avis/internal/contact"
	"avis/internal/db"
	"avis/internal/demo"
	"avis/internal/privacy"
	"avis/internal/response"
	"avis/internal/survey"
)

// apiDo sends a request with an API key and decodes the JSON answer.
func apiDo(t *testing.T, e *env, method, path, key string, body io.Reader, header ...string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	raw, _ := io.ReadAll(r.Body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: %d, not JSON: %s", method, path, r.StatusCode, raw)
		}
	}
	return r.StatusCode, r.Header, out
}

// inviteExternal is answerShop.invite for a contact the CRM knows by an
// external id: it returns the survey link's token and the contact id.
func (s *answerShop) inviteExternal(t *testing.T, email, external string) (string, string) {
	t.Helper()
	ctx := context.Background()
	e := s.e
	c, err := e.contacts.Create(ctx, audit.System("test"), s.tenant.ID, contact.Input{Email: email, FirstName: "Jeanne", ExternalID: external, Language: "fr"})
	if err != nil {
		t.Fatal(err)
	}
	if err := demo.Events(ctx, e.db, e.journeys, e.dispatch, s.tenant.ID, "delivery", []string{c.ID}, time.Now()); err != nil {
		t.Fatal(err)
	}
	for range 1000 {
		if _, err := e.dispatch.RunDue(ctx, s.tenant.ID); err != nil {
			t.Fatal(err)
		}
		box, err := e.dispatch.Outbox(ctx, s.tenant.ID, "", 200)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range box {
			if m.ContactID != c.ID {
				continue
			}
			msg, err := e.dispatch.OutboxMessage(ctx, audit.System("test"), s.tenant.ID, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			found := surveyLinkRe.FindStringSubmatch(decodeQP(string(msg.Raw)))
			if found == nil {
				t.Fatalf("no survey link in the message:\n%s", msg.Raw)
			}
			return found[1], c.ID
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the invitation never reached the outbox")
	return "", ""
}

// answerFive answers the fiveQuestions survey of a link.
func answerFive(t *testing.T, e *env, token string, nps, comment string) {
	t.Helper()
	p := e.respondent()
	page := p.get("/s/" + token)
	post, _ := p.send(page, answers("q_nps", nps, "q_csat", "4", "q_what", "friend", "q_comment", comment))
	if post.status != http.StatusSeeOther {
		t.Fatalf("answer: %d\n%s", post.status, post.body)
	}
}

// betaAnswered makes a tenant of its own whose survey was answered
// through an invitation, and returns the response's and the invitation's
// ids.
func betaAnswered(t *testing.T, e *env, _ string) (string, string) {
	t.Helper()
	shop := newAnswerShop(t, e, "gamma", fiveQuestions)
	token, _ := shop.inviteExternal(t, "gamma.customer@example.org", "gamma-1")
	answerFive(t, e, token, "9", "")
	_, inv, err := e.dispatch.ByToken(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.responses.ByInvitation(context.Background(), shop.tenant.ID, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	return r.ID, inv.ID
}

// TestAPIPull: a CRM pulls responses, invitation statuses and journey
// events by cursor, with least data (comments only when asked), then
// erases a person by their external id and gets a receipt.
func TestAPIPull(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	shop := newAnswerShop(t, e, "shop", fiveQuestions)
	tn := shop.tenant
	key, _, _ := e.accounts.CreateAPIKey(ctx, audit.System("test"), tn.ID, "crm", []string{"responses:read", "subjects:write"})
	other, _, _ := e.accounts.CreateAPIKey(ctx, audit.System("test"), tn.ID, "contacts", []string{"contacts:read"})
	tokA, contactA := shop.inviteExternal(t, "anna@example.org", "CRM-A")
	tokB, _ := shop.inviteExternal(t, "bruno@example.org", "CRM-B")
	answerFive(t, e, tokA, "2", "Colis abîmé, livreur pressé")
	answerFive(t, e, tokB, "10", "")

	// The whole list, in one page and one at a time.
	st, _, page := apiDo(t, e, "GET", "/api/v1/responses", key, nil)
	data, _ := page["data"].([]any)
	if st != 200 || len(data) != 2 || page["has_more"] != false || page["next_cursor"] == "" {
		t.Fatalf("responses: %d %v", st, page)
	}
	a := data[0].(map[string]any)
	if a["contact_external_id"] != "CRM-A" || a["status"] != "complete" || a["step"] != "delivery" || a["survey_id"] != shop.survey.ID {
		t.Fatalf("first response: %v", a)
	}
	if s := mustJSON(a["scores"]); !strings.Contains(s, `{"category":"detractor","question":"nps","type":"nps","value":2}`) {
		t.Fatalf("scores: %s", s)
	}
	body := mustJSON(page)
	if strings.Contains(body, "Colis") || strings.Contains(body, "anna@") || strings.Contains(body, "Jeanne") {
		t.Fatalf("a pull without include=comments shows personal data: %s", body)
	}
	if !strings.Contains(mustJSON(a["answers"]), `"what":{"choices":["friend"]}`) {
		t.Fatalf("answers: %v", a["answers"])
	}
	_, _, withText := apiDo(t, e, "GET", "/api/v1/responses?include=comments", key, nil)
	if !strings.Contains(mustJSON(withText), `"comment":{"text":"Colis abîmé, livreur pressé"}`) {
		t.Fatalf("include=comments: %s", mustJSON(withText))
	}
	var seen []string
	after := ""
	for i := 0; ; i++ {
		_, _, p := apiDo(t, e, "GET", "/api/v1/responses?limit=1&after="+url.QueryEscape(after), key, nil)
		d := p["data"].([]any)
		if len(d) == 0 {
			if p["next_cursor"] != after || p["has_more"] != false {
				t.Fatalf("empty page: %v, want next_cursor %q", p, after)
			}
			break
		}
		if p["has_more"] != (i == 0) {
			t.Fatalf("page %d: has_more %v", i, p["has_more"])
		}
		seen = append(seen, d[0].(map[string]any)["id"].(string))
		after = p["next_cursor"].(string)
	}
	if len(seen) != 2 || seen[0] != a["id"] {
		t.Fatalf("paged %v", seen)
	}
	if st, _, one := apiDo(t, e, "GET", "/api/v1/responses/"+seen[1]+"?include=comments", key, nil); st != 200 || one["contact_external_id"] != "CRM-B" {
		t.Fatalf("one response: %d %v", st, one)
	}

	// Invitation statuses and journey events.
	_, _, invs := apiDo(t, e, "GET", "/api/v1/invitations?limit=10", key, nil)
	if s := mustJSON(invs); strings.Count(s, `"status":"answered"`) != 2 || !strings.Contains(s, `"contact_external_id":"CRM-A"`) {
		t.Fatalf("invitations: %s", s)
	}
	invID := invs["data"].([]any)[0].(map[string]any)["id"].(string)
	if st, _, one := apiDo(t, e, "GET", "/api/v1/invitations/"+invID, key, nil); st != 200 || one["id"] != invID {
		t.Fatalf("one invitation: %d %v", st, one)
	}
	_, _, evs := apiDo(t, e, "GET", "/api/v1/events", key, nil)
	if s := mustJSON(evs); strings.Count(s, `"step":"delivery"`) != 2 {
		t.Fatalf("events: %s", s)
	}

	// Refusals.
	respCursor := page["next_cursor"].(string)
	cases := []struct {
		name, path, key string
		want            int
		typ             string
	}{
		{"wrong scope", "/api/v1/responses", other, 403, "urn:avis:problem:insufficient-scope"},
		{"junk cursor", "/api/v1/responses?after=zzz", key, 400, "urn:avis:problem:bad-cursor"},
		{"cursor of another list", "/api/v1/invitations?after=" + respCursor, key, 400, "urn:avis:problem:bad-cursor"},
		{"limit too high", "/api/v1/responses?limit=5000", key, 400, "urn:avis:problem:bad-parameter"},
		{"limit zero", "/api/v1/events?limit=0", key, 400, "urn:avis:problem:bad-parameter"},
		{"unknown include", "/api/v1/responses?include=emails", key, 400, "urn:avis:problem:bad-parameter"},
		{"unknown parameter", "/api/v1/invitations?since=yesterday", key, 400, "urn:avis:problem:bad-parameter"},
		{"unknown response", "/api/v1/responses/" + db.NewID(), key, 404, "urn:avis:problem:not-found"},
		{"unknown invitation", "/api/v1/invitations/" + db.NewID(), key, 404, "urn:avis:problem:not-found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, hdr, p := apiDo(t, e, "GET", tc.path, tc.key, nil)
			if st != tc.want || p["type"] != tc.typ || p["detail"] == "" || hdr.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%d %v, want %d %s", st, p, tc.want, tc.typ)
			}
		})
	}

	// The CRM erases Anna: a receipt, a request in the log with channel
	// api, her comment gone from the pull, her scores still there.
	st, _, rec := apiDo(t, e, "DELETE", "/api/v1/subjects/CRM-A", key, nil)
	if st != 200 || rec["contact_id"] != contactA || rec["request_id"] == "" {
		t.Fatalf("erase: %d %v", st, rec)
	}
	if s := mustJSON(rec["erased"]); !strings.Contains(s, `"responses":1`) || !strings.Contains(s, `"events":1`) || !strings.Contains(s, `"invitations":1`) {
		t.Fatalf("receipt: %s", s)
	}
	reqs, err := e.requests.List(ctx, tn.ID, privacy.RequestFilter{Kind: privacy.RequestErasure})
	if err != nil || len(reqs) != 1 || reqs[0].Channel != privacy.ChannelAPI || reqs[0].SubjectID != contactA || reqs[0].ID != rec["request_id"] {
		t.Fatalf("request log: %+v %v", reqs, err)
	}
	_, _, after2 := apiDo(t, e, "GET", "/api/v1/responses?include=comments", key, nil)
	if s := mustJSON(after2); strings.Contains(s, "Colis") || strings.Contains(s, "CRM-A") || !strings.Contains(s, `"value":2`) {
		t.Fatalf("after erasure: %s", s)
	}
	if st, _, p := apiDo(t, e, "DELETE", "/api/v1/subjects/CRM-A", key, nil); st != 404 || p["type"] != "urn:avis:problem:not-found" {
		t.Fatalf("second erasure: %d %v", st, p)
	}
	if st, _, _ := apiDo(t, e, "DELETE", "/api/v1/subjects/CRM-B", other, nil); st != 403 {
		t.Fatalf("erasure without subjects:write: %d", st)
	}
}

// TestAPIPullWhileWriting: a writer stores responses through the response
// store while a reader pages with the cursor; once the writer stops and
// the reader has drained, it has seen exactly the responses written, none
// twice, none missing.
func TestAPIPullWhileWriting(t *testing.T) {
	ctx := context.Background()
	e := newEnvWith(t, func(c *config.Config) { c.APIRate = 0 })
	tn, _ := e.tenant("shop", account.RoleOwner)
	def, err := survey.Parse([]byte(fiveQuestions))
	if err != nil {
		t.Fatal(err)
	}
	sv, err := e.surveys.Create(ctx, audit.System("test"), tn.ID, def)
	if err != nil {
		t.Fatal(err)
	}
	key, _, _ := e.accounts.CreateAPIKey(ctx, audit.System("test"), tn.ID, "crm", []string{"responses:read"})

	const writers, each = 4, 40
	written := make(chan string, writers*each)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				out, err := e.responses.Submit(ctx, response.Submission{
					Start: response.Start{TenantID: tn.ID, SurveyID: sv.ID, SurveyVersion: sv.CurrentVersion, Language: "fr",
						ResumeToken: fmt.Sprintf("resume-%d-%d-%s", w, i, db.NewID())},
					Def: sv.Definition, Page: 0, Answers: survey.Answers{"nps": survey.Int(i % 11), "csat": survey.Int(1 + i%5)}})
				if err != nil || !out.Completed {
					t.Errorf("submit: %v %+v", err, out.Errors)
					return
				}
				written <- out.Response.ID
			}
		}()
	}
	stop := make(chan struct{})
	go func() { wg.Wait(); close(stop) }()

	seen := map[string]int{}
	after := ""
	read := func() int {
		st, _, p := apiDo(t, e, "GET", "/api/v1/responses?limit=7&after="+url.QueryEscape(after), key, nil)
		if st != 200 {
			t.Fatalf("pull: %d %v", st, p)
		}
		d := p["data"].([]any)
		for _, it := range d {
			seen[it.(map[string]any)["id"].(string)]++
		}
		after = p["next_cursor"].(string)
		return len(d)
	}
	for running := true; running; {
		select {
		case <-stop:
			running = false
		default:
			read()
		}
	}
	for read() > 0 {
	}
	close(written)
	want := map[string]bool{}
	for id := range written {
		want[id] = true
	}
	if len(want) != writers*each {
		t.Fatalf("%d responses written, want %d", len(want), writers*each)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("response %s read %d times", id, n)
		}
		if !want[id] {
			t.Errorf("response %s read but never written", id)
		}
	}
	for id := range want {
		if seen[id] == 0 {
			t.Errorf("response %s written but never read", id)
		}
	}

	// The whole list in one page: streamed by pieces of 32 KB, it is the
	// page written at once (the path of include=comments; none here).
	_, _, streamed := apiDo(t, e, "GET", "/api/v1/responses?limit=1000", key, nil)
	_, _, whole := apiDo(t, e, "GET", "/api/v1/responses?limit=1000&include=comments", key, nil)
	if d, _ := streamed["data"].([]any); len(d) != writers*each || streamed["has_more"] != false {
		t.Fatalf("one page of %d responses: %d, has_more %v", writers*each, len(d), streamed["has_more"])
	}
	if a, b := mustJSON(streamed), mustJSON(whole); a != b || len(a) < 64<<10 {
		t.Errorf("the streamed page (%d bytes) differs from the page written at once (%d bytes)", len(a), len(b))
	}
}
