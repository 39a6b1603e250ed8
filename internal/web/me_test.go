package web_test

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/contact"
	"avis/internal/db"
	"avis/internal/dispatch"
	"avis/internal/privacy"
	"avis/internal/response"
	"avis/internal/survey"
)

var updateMeGolden = flag.Bool("update-me", false, "rewrite testdata/me_export.golden.json")

// meFixture is a tenant with a journey, a survey, a rule and one contact
// (email, phone, a clear and a personal attribute) who received one
// invitation by email, through the outbox.
type meFixture struct {
	e         *env
	tn        account.Tenant
	owner     *browser
	eventsKey string
	stepID    string
	surveyID  string
	contactID string
	token     string
}

var (
	meLinkRe     = regexp.MustCompile(`/me/([A-Za-z0-9_-]{22})\b`)
	accessLinkRe = regexp.MustCompile(`/me/([A-Za-z0-9_-]{43})\b`)
	formTokenRe  = regexp.MustCompile(`name="form" value="([^"]+)"`)
)

const (
	meEmail = "jeanne.martin@example.org"
	mePhone = "+33639980042"
)

func newMeFixture(t *testing.T) *meFixture {
	t.Helper()
	ctx := context.Background()
	f := &meFixture{e: newEnv(t)}
	e := f.e
	f.tn, _ = e.tenant("shop", account.RoleOwner)
	f.owner = e.loggedIn("shop-owner@example.com")
	f.owner.post("/journeys", url.Values{"name": {"Commande"}, "key_0": {"delivery"}, "step_0": {"Livraison"}})
	f.stepID = stepRuleRe.FindStringSubmatch(f.owner.get("/journeys").body)[1]
	sv, err := e.surveys.Create(ctx, audit.System("test"), f.tn.ID, surveyFixture("Livraison"))
	if err != nil {
		t.Fatal(err)
	}
	f.surveyID = sv.ID
	rule := ruleForm(f.surveyID)
	rule.Set("cap_days", "0")
	rule.Set("reminders", "0")
	if r := f.owner.post("/steps/"+f.stepID+"/rule", rule); r.status != http.StatusOK {
		t.Fatalf("save rule: %d\n%s", r.status, r.body)
	}
	for _, a := range []contact.Attribute{{Name: "loyalty_card", Label: "Loyalty card", Personal: true}, {Name: "store", Label: "Store"}} {
		if err := e.contacts.DeclareAttribute(ctx, audit.System("test"), f.tn.ID, a); err != nil {
			t.Fatal(err)
		}
	}
	crm, _, err := e.accounts.CreateAPIKey(ctx, audit.System("test"), f.tn.ID, "crm", []string{"contacts:write", "events:write"})
	if err != nil {
		t.Fatal(err)
	}
	f.eventsKey = crm
	status, rep := apiClient{t, e, crm}.post("/api/v1/contacts", "application/json", `[{"external_id":"C-1042","email":"`+meEmail+`",
		"phone":"`+mePhone+`","first_name":"Jeanne","last_name":"Martin","language":"fr","country":"FR","time_zone":"Europe/Paris",
		"attributes":{"store":"Lyon Part-Dieu","loyalty_card":"LC-778"}}]`)
	if status != http.StatusOK || rep["created"] != float64(1) {
		t.Fatalf("import: %d %v", status, rep)
	}
	if f.contactID, err = e.contacts.FindByAddress(ctx, f.tn.ID, contact.FieldEmail, meEmail); err != nil {
		t.Fatal(err)
	}
	f.event("first")
	m := f.waitOutbox("invitation", 1)
	body := parts(t, m.Raw)
	lm := meLinkRe.FindStringSubmatch(body)
	if lm == nil {
		t.Fatalf("no My data link in the invitation:\n%s", body)
	}
	f.token = lm[1]
	if !strings.Contains(body, "/legal/"+f.tn.ID+"/notice") {
		t.Errorf("the invitation does not link the information notice:\n%s", body)
	}
	return f
}

const (
	meComment = "Livreur très en retard, carton abîmé"
	meWording = "J'accepte que mon avis soit publié avec mon prénom et l'initiale de mon nom."
)

// answer completes the invitation's survey as the person would: a
// detractor's score, a written comment, a choice, and the consent to
// publish. It returns the consent's receipt id.
func (f *meFixture) answer(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	tid, inv, err := f.e.dispatch.ByToken(ctx, f.token)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := f.e.surveys.Get(ctx, tid, f.surveyID)
	if err != nil {
		t.Fatal(err)
	}
	start := response.Start{TenantID: tid, SurveyID: sv.ID, SurveyVersion: sv.CurrentVersion, InvitationID: inv.ID,
		ContactID: inv.ContactID, StepID: inv.StepID, Language: "fr"}
	first, err := f.e.responses.Submit(ctx, response.Submission{Start: start, Def: sv.Definition, Page: 0, Answers: survey.Answers{"nps": survey.Int(4)}})
	if err != nil || len(first.Errors) > 0 {
		t.Fatalf("page 1: %v %v", err, first.Errors)
	}
	last, err := f.e.responses.Submit(ctx, response.Submission{ResponseID: first.Response.ID, Start: start, Def: sv.Definition, Page: 1,
		Answers: survey.Answers{"comment": {Text: meComment}, "topics": {Choices: []string{"price"}}},
		Consent: &response.Consent{Purpose: privacy.PurposePublishReview, Wording: meWording, Language: "fr"}})
	if err != nil || len(last.Errors) > 0 || !last.Completed || last.ConsentID == "" {
		t.Fatalf("page 2: %v %+v", err, last)
	}
	return last.ConsentID
}

// event posts a journey event for the contact.
func (f *meFixture) event(key string) map[string]any {
	f.e.t.Helper()
	status, out := apiClient{f.e.t, f.e, f.eventsKey}.post("/api/v1/events", "application/json",
		`{"contact": {"id": "`+f.contactID+`"}, "step": "delivery", "idempotency_key": "`+key+`"}`)
	if status != http.StatusOK {
		f.e.t.Fatalf("event: %d %v", status, out)
	}
	return out
}

// waitOutbox waits for the n-th outbox message of a kind and opens it.
func (f *meFixture) waitOutbox(kind string, n int) dispatch.OutboxMessage {
	f.e.t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		box, err := f.e.dispatch.Outbox(ctx, f.tn.ID, "", 100)
		if err != nil {
			f.e.t.Fatal(err)
		}
		var of []dispatch.OutboxMessage
		for _, m := range box {
			if m.Kind == kind {
				of = append(of, m)
			}
		}
		if len(of) >= n {
			m, err := f.e.dispatch.OutboxMessage(ctx, audit.System("test"), f.tn.ID, of[0].ID)
			if err != nil {
				f.e.t.Fatal(err)
			}
			return m
		}
		time.Sleep(50 * time.Millisecond)
	}
	f.e.t.Fatalf("no %d %q message in the outbox within 20 s", n, kind)
	return dispatch.OutboxMessage{}
}

// mePost submits a form of the person's page, with its anti-forgery field.
func (f *meFixture) mePost(b *browser, token, what string, form url.Values) resp {
	f.e.t.Helper()
	page := b.get("/me/" + token)
	m := formTokenRe.FindStringSubmatch(page.body)
	if m == nil {
		f.e.t.Fatalf("no form on the page of %s (%d)", token, page.status)
	}
	if form == nil {
		form = url.Values{}
	}
	form.Set("form", m[1])
	return b.do("POST", "/me/"+token+"/"+what, form)
}

// requestKinds lists the kinds in the tenant's request log about the
// contact, and checks each has its audit entry by the data subject.
func (f *meFixture) requestKinds(t *testing.T) map[string]int {
	t.Helper()
	ctx := context.Background()
	reqs, err := f.e.requests.List(ctx, f.tn.ID, privacy.RequestFilter{SubjectID: f.contactID, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := f.e.audit.List(ctx, f.tn.ID, audit.Filter{SubjectID: f.contactID, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	audited := map[string]audit.Record{}
	for _, r := range recs {
		audited[r.ObjectID] = r
	}
	out := map[string]int{}
	for _, q := range reqs {
		out[q.Kind]++
		a, ok := audited[q.ID]
		if !ok || a.Action != "request."+q.Kind || a.Actor.Kind != audit.ActorPublic {
			t.Errorf("request %s (%s) has no audit entry by the person: %+v", q.ID, q.Kind, a)
		}
		if q.Channel != privacy.ChannelSelfService || q.CompletedAt.IsZero() || !q.DueAt.Equal(q.ReceivedAt.AddDate(0, 1, 0)) {
			t.Errorf("request %+v: want self-service, completed, due a month after", q)
		}
	}
	return out
}

// noPersonalDataInLogs fails when the server's log holds the person's
// address or phone number.
func (f *meFixture) noPersonalDataInLogs(t *testing.T, values ...string) {
	t.Helper()
	logs := f.e.logs.String()
	for _, v := range append(values, meEmail, mePhone, "Jeanne", "LC-778") {
		if strings.Contains(logs, v) {
			t.Errorf("the server log holds %q", v)
		}
	}
}

// TestMePage: the person's page, opened with the invitation's token, shows
// what the tenant holds, decrypted, sets no cookie, is logged as an access
// request and audited as read by the person.
func TestMePage(t *testing.T) {
	f := newMeFixture(t)
	f.answer(t)
	anon := f.e.browser()
	r := anon.get("/me/" + f.token)
	if r.status != http.StatusOK || len(r.header.Values("Set-Cookie")) > 0 {
		t.Fatalf("my data page: %d, cookies %v\n%s", r.status, r.header.Values("Set-Cookie"), f.e.logs.String())
	}
	for _, want := range []string{"Jeanne", "Martin", meEmail, mePhone[1:], "Europe/Paris", "C-1042", "Lyon Part-Dieu", "LC-778",
		"Livraison", "/legal/" + f.tn.ID + "/notice", "/legal/" + f.tn.ID + "/publication", "/me/" + f.token + "/export.json",
		"/me/" + f.token + "/erase", `value="email"`, `value="sms"`, "legitimate interest", "Company shop",
		"Livreur très en retard, carton abîmé", "Recommanderiez-vous notre boutique ?", "4 (0–10)", "Le prix", "J&#39;accepte que mon avis soit publié",
		`name="receipt"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if !strings.Contains(r.body, `lang="fr"`) {
		t.Error("the page is not in the contact's language")
	}
	if r := anon.do("GET", "/me/"+f.token, nil, "Accept-Language", "de"); !strings.Contains(r.body, `lang="fr"`) {
		t.Error("the page does not keep the person's language")
	}
	if r := anon.get("/me/" + f.token + "?lang=en"); !strings.Contains(r.body, "Who you are") {
		t.Error("the page is not in English with ?lang=en")
	}
	for _, bad := range []string{"/me/" + strings.Repeat("A", 22), "/me/short", "/me/" + strings.Repeat("B", 43), "/me/" + f.token + "/nothing"} {
		if r := anon.get(bad); r.status != http.StatusNotFound || strings.Contains(r.body, meEmail) {
			t.Errorf("%s: %d", bad, r.status)
		}
	}
	if k := f.requestKinds(t); k[privacy.RequestAccess] != 3 {
		t.Errorf("access requests logged: %v", k)
	}
	f.noPersonalDataInLogs(t)
}

// normaliseExport replaces what changes from run to run (ids, times) so
// that the export can be compared with its golden file.
func normaliseExport(b []byte) []byte {
	b = regexp.MustCompile(`[0-9a-hjkmnp-tv-z]{26}`).ReplaceAll(b, []byte("ID"))
	b = regexp.MustCompile(`"\d{4}-\d\d-\d\dT[0-9:.]+Z"`).ReplaceAll(b, []byte(`"TIME"`))
	return b
}

// TestMeExportGolden: the download holds every category the tenant keeps
// (contact, attributes, sources, invitations, answers, consents, reviews,
// suppressions, processing with purposes, bases and retention,
// recipients, requests), as an attachment, compared with a golden file.
func TestMeExportGolden(t *testing.T) {
	f := newMeFixture(t)
	f.answer(t)
	anon := f.e.browser()
	r := anon.get("/me/" + f.token + "/export.json")
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Disposition"), "attachment;") ||
		!strings.HasPrefix(r.header.Get("Content-Type"), "application/json") || len(r.header.Values("Set-Cookie")) > 0 {
		t.Fatalf("export: %d %q %q", r.status, r.header.Get("Content-Disposition"), r.header.Get("Content-Type"))
	}
	var x map[string]any
	if err := json.Unmarshal([]byte(r.body), &x); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"contact", "attributes", "sources", "invitations", "answers", "consents", "reviews", "suppressions",
		"processing", "recipients", "requests", "controller"} {
		if _, ok := x[k]; !ok {
			t.Errorf("the export has no %q", k)
		}
	}
	got := normaliseExport([]byte(r.body))
	golden := filepath.Join("testdata", "me_export.golden.json")
	if *updateMeGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestMeExportGolden -update-me)", err)
	}
	if string(got) != string(want) {
		t.Errorf("the export differs from %s (run with -update-me to accept):\n%s", golden, got)
	}
	if k := f.requestKinds(t); k[privacy.RequestExport] != 1 {
		t.Errorf("export requests logged: %v", k)
	}
}

// TestMeCorrect: errors are said next to the fields and nothing changes;
// a valid correction is re-sealed, found by its new blind index, and the
// next invitation goes to the new address.
func TestMeCorrect(t *testing.T) {
	f := newMeFixture(t)
	ctx := context.Background()
	anon := f.e.browser()
	cases := []struct {
		name, first, email, wantErr string
	}{
		{"name too long", strings.Repeat("J", 101), meEmail, `id="first_name-error"`},
		{"bad email", "Jeanne", "jeanne@", `id="email-error"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.mePost(anon, f.token, "correct", url.Values{"first_name": {c.first}, "last_name": {"Martin"}, "email": {c.email}})
			if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, c.wantErr) || !strings.Contains(r.body, `aria-invalid="true"`) {
				t.Fatalf("%d\n%s", r.status, r.body)
			}
		})
	}
	if got, _ := f.e.contacts.Get(ctx, audit.System("test"), f.tn.ID, f.contactID); got.FirstName != "Jeanne" || got.Email != meEmail {
		t.Fatalf("a refused correction changed the contact: %+v", got)
	}
	const newEmail = "j.martin@example.net"
	r := f.mePost(anon, f.token, "correct", url.Values{"first_name": {"Jeanne-Marie"}, "last_name": {"Martin"}, "email": {" J.Martin@Example.NET "}})
	if r.status != http.StatusOK || !strings.Contains(r.body, newEmail) || !strings.Contains(r.body, "Jeanne-Marie") {
		t.Fatalf("correct: %d\n%s", r.status, r.body)
	}
	if id, err := f.e.contacts.FindByAddress(ctx, f.tn.ID, contact.FieldEmail, newEmail); err != nil || id != f.contactID {
		t.Fatalf("the new address is not indexed: %q %v", id, err)
	}
	if _, err := f.e.contacts.FindByAddress(ctx, f.tn.ID, contact.FieldEmail, meEmail); err == nil {
		t.Fatal("the old address still finds the contact")
	}
	f.event("second")
	m := f.waitOutbox("invitation", 2)
	body := parts(t, m.Raw)
	if !strings.Contains(string(m.Raw), "To: <"+newEmail+">") || !strings.Contains(body, "Jeanne-Marie") {
		t.Fatalf("the next invitation does not use the correction:\n%s", m.Raw[:min(len(m.Raw), 600)])
	}
	recs, _ := f.e.audit.List(ctx, f.tn.ID, audit.Filter{Action: "contact.rectify"})
	if len(recs) != 1 || recs[0].Detail["fields"] != "email,first_name" && recs[0].Detail["fields"] != "first_name,email" {
		t.Errorf("rectification audit: %+v", recs)
	}
	if k := f.requestKinds(t); k[privacy.RequestRectification] != 1 {
		t.Errorf("rectification requests logged: %v", k)
	}
	f.noPersonalDataInLogs(t, newEmail)
}

// TestMeUnsubscribe: stopping the emails suppresses the address by its
// blind index and, at once, an invitation still scheduled; a post without
// the page's anti-forgery field, or from another site, changes nothing.
func TestMeUnsubscribe(t *testing.T) {
	f := newMeFixture(t)
	ctx := context.Background()
	rule := ruleForm(f.surveyID)
	rule.Set("cap_days", "0")
	rule.Set("reminders", "0")
	rule.Set("delay_hours", "48")
	if r := f.owner.post("/steps/"+f.stepID+"/rule", rule); r.status != http.StatusOK {
		t.Fatalf("save rule: %d", r.status)
	}
	out := f.event("later")
	res, _ := out["results"].([]any)
	if len(res) != 1 || res[0].(map[string]any)["invitation_status"] != "scheduled" {
		t.Fatalf("event: %v", out)
	}
	invID, _ := res[0].(map[string]any)["invitation_id"].(string)

	anon := f.e.browser()
	if r := anon.do("POST", "/me/"+f.token+"/unsubscribe", url.Values{"channel": {"email"}}); r.status != http.StatusForbidden {
		t.Fatalf("without the form field: %d", r.status)
	}
	page := anon.get("/me/" + f.token)
	tok := formTokenRe.FindStringSubmatch(page.body)[1]
	if r := anon.do("POST", "/me/"+f.token+"/unsubscribe", url.Values{"channel": {"email"}, "form": {tok}}, "Origin", "https://evil.example"); r.status != http.StatusForbidden {
		t.Fatalf("from another site: %d", r.status)
	}
	reach, _ := f.e.contacts.Reachability(ctx, nil, f.tn.ID, f.contactID)
	if sup, _, _ := privacy.Suppressed(ctx, f.e.db.R, f.tn.ID, reach.EmailIndex); sup {
		t.Fatal("a forged post unsubscribed the person")
	}
	r := f.mePost(anon, f.token, "unsubscribe", url.Values{"channel": {"email"}})
	if r.status != http.StatusOK || !strings.Contains(r.body, "Vous ne recevrez plus") && !strings.Contains(r.body, "no more emails") {
		t.Fatalf("unsubscribe: %d\n%s", r.status, r.body)
	}
	if sup, why, _ := privacy.Suppressed(ctx, f.e.db.R, f.tn.ID, reach.EmailIndex); !sup || why != privacy.ReasonUnsubscribed {
		t.Fatalf("suppression: %v %q", sup, why)
	}
	inv, err := f.e.dispatch.Invitation(ctx, f.tn.ID, invID)
	if err != nil || inv.Status != dispatch.StatusSuppressed || inv.Reason != privacy.ReasonUnsubscribed {
		t.Fatalf("the scheduled invitation: %+v %v", inv, err)
	}
	if strings.Contains(r.body, `value="email"`) || !strings.Contains(r.body, `value="sms"`) {
		t.Error("the page still offers to stop the emails, or no longer the SMS")
	}
	if k := f.requestKinds(t); k[privacy.RequestUnsubscribe] != 1 {
		t.Errorf("unsubscribe requests logged: %v", k)
	}
}

// TestMeErase: the confirmation step, then crypto-shredding: the contact
// is gone, its key destroyed, its outbox messages unreadable, its access
// links dead, its suppression kept; a receipt says what was erased, the
// request log keeps the pseudonymous id, and the token shows nothing more.
func TestMeErase(t *testing.T) {
	f := newMeFixture(t)
	ctx := context.Background()
	receipt := f.answer(t)
	anon := f.e.browser()
	f.mePost(anon, f.token, "unsubscribe", url.Values{"channel": {"sms"}})
	link, _, err := privacy.IssueAccess(ctx, f.e.db.W, f.tn.ID, f.contactID, "email", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	confirm := anon.get("/me/" + f.token + "/erase")
	if confirm.status != http.StatusOK || !strings.Contains(confirm.body, `name="confirm" value="yes"`) || len(confirm.header.Values("Set-Cookie")) > 0 {
		t.Fatalf("confirmation page: %d\n%s", confirm.status, confirm.body)
	}
	// Without the confirmation, nothing is erased.
	if r := f.mePost(anon, f.token, "erase", nil); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("erase without confirmation: %d", r.status)
	}
	if _, err := f.e.contacts.Exists(ctx, f.tn.ID, f.contactID); err != nil {
		t.Fatal("erased without confirmation")
	}
	reach, _ := f.e.contacts.Reachability(ctx, nil, f.tn.ID, f.contactID)
	r := f.mePost(anon, f.token, "erase", url.Values{"confirm": {"yes"}, "keep_out": {"yes"}})
	if r.status != http.StatusOK || len(r.header.Values("Set-Cookie")) > 0 {
		t.Fatalf("erase: %d\n%s", r.status, r.body)
	}
	reqs, _ := f.e.requests.List(ctx, f.tn.ID, privacy.RequestFilter{Kind: privacy.RequestErasure})
	if len(reqs) != 1 || reqs[0].SubjectID != f.contactID || !strings.Contains(r.body, reqs[0].ID) {
		t.Fatalf("the receipt does not show the logged erasure %+v", reqs)
	}
	if strings.Contains(r.body, meEmail) || strings.Contains(r.body, "Jeanne") {
		t.Error("the receipt shows personal data")
	}
	if _, err := f.e.contacts.Exists(ctx, f.tn.ID, f.contactID); err == nil {
		t.Fatal("the contact is still there")
	}
	// The answers: unlinked, their text gone, the score kept as a statistic.
	if rs, err := f.e.responses.ForContact(ctx, f.tn.ID, f.contactID); err != nil || len(rs) != 0 {
		t.Fatalf("responses still linked to the person: %d %v", len(rs), err)
	}
	var linked, texts, scores int
	f.e.db.R.QueryRowContext(ctx, `SELECT count(*) FROM responses WHERE tenant_id = $1 AND contact_id = $2`, f.tn.ID, f.contactID).Scan(&linked)
	f.e.db.R.QueryRowContext(ctx, `SELECT count(*) FROM response_answers WHERE tenant_id = $1 AND text_sealed IS NOT NULL`, f.tn.ID).Scan(&texts)
	f.e.db.R.QueryRowContext(ctx, `SELECT count(*) FROM response_answers WHERE tenant_id = $1 AND question_id = 'nps'`, f.tn.ID).Scan(&scores)
	if linked != 0 || texts != 0 || scores != 1 {
		t.Errorf("after erasure: %d responses linked, %d sealed texts, %d scores (want 0, 0, 1)", linked, texts, scores)
	}
	if c, err := f.e.consents.Get(ctx, f.tn.ID, receipt); err != nil || c.Valid() {
		t.Errorf("the consent stands after erasure: %+v %v", c, err)
	}
	if !strings.Contains(r.body, "1") {
		t.Error("the receipt does not count the answers")
	}
	var wrapped []byte
	var erasedAt int64
	if err := f.e.db.R.QueryRowContext(ctx, `SELECT wrapped_key, erased_at FROM subject_keys WHERE tenant_id = $1 AND subject_id = $2`,
		f.tn.ID, f.contactID).Scan(&wrapped, &erasedAt); err != nil || wrapped != nil || erasedAt == 0 {
		t.Fatalf("the vault key is not destroyed: %v %v %d", err, wrapped != nil, erasedAt)
	}
	box, _ := f.e.dispatch.Outbox(ctx, f.tn.ID, "", 10)
	if m, err := f.e.dispatch.OutboxMessage(ctx, audit.System("test"), f.tn.ID, box[0].ID); err != nil || !m.Erased {
		t.Fatalf("the outbox message is still readable: %v", err)
	}
	for _, ix := range []struct {
		ix  []byte
		why string
	}{{reach.EmailIndex, privacy.ReasonObjection}, {reach.PhoneIndex, privacy.ReasonUnsubscribed}} {
		if sup, why, _ := privacy.Suppressed(ctx, f.e.db.R, f.tn.ID, ix.ix); !sup || why != ix.why {
			t.Errorf("suppression after erasure: %v %q, want %q", sup, why, ix.why)
		}
	}
	for _, tok := range []string{f.token, link} {
		p := anon.get("/me/" + tok)
		if p.status == http.StatusOK || strings.Contains(p.body, meEmail) || strings.Contains(p.body, "Jeanne") {
			t.Errorf("the token %s still opens a page: %d", tok[:6], p.status)
		}
	}
	if p := anon.get("/me/" + f.token); p.status != http.StatusGone {
		t.Errorf("the invitation token after erasure: %d", p.status)
	}
	// A new event for the erased contact schedules nothing.
	status, out := apiClient{t, f.e, f.eventsKey}.post("/api/v1/events", "application/json", `{"contact": {"id": "`+f.contactID+`"}, "step": "delivery", "idempotency_key": "after"}`)
	if status == http.StatusOK {
		if res, _ := out["results"].([]any); len(res) == 1 && res[0].(map[string]any)["invitation_status"] == "scheduled" {
			t.Errorf("an erased contact was scheduled: %v", out)
		}
	}
	recs, _ := f.e.audit.List(ctx, f.tn.ID, audit.Filter{Action: "contact.erase"})
	if len(recs) != 1 || recs[0].Actor.Kind != audit.ActorPublic {
		t.Errorf("erasure audit: %+v", recs)
	}
	f.noPersonalDataInLogs(t)
}

// TestMeAccessLink: the form answers the same page and status whether or
// not the address is on file; a known one gets a link by the same channel
// (email, or SMS for a phone), the link opens the page, and the limits per
// address and per caller trigger.
func TestMeAccessLink(t *testing.T) {
	f := newMeFixture(t)
	ctx := context.Background()
	anon := f.e.browser()
	path := "/me/request/" + f.tn.ID
	if r := anon.get(path); r.status != http.StatusOK || !strings.Contains(r.body, `name="address"`) || len(r.header.Values("Set-Cookie")) > 0 {
		t.Fatalf("form: %d", r.status)
	}
	if r := anon.get("/me/request/" + strings.Repeat("0", 26)); r.status != http.StatusNotFound {
		t.Fatalf("unknown tenant: %d", r.status)
	}
	unknown := anon.do("POST", path, url.Values{"address": {"nobody@example.org"}})
	known := anon.do("POST", path, url.Values{"address": {" Jeanne.Martin@Example.org "}})
	if unknown.status != http.StatusOK || known.status != unknown.status || known.body != unknown.body {
		t.Fatalf("known and unknown addresses answer differently: %d / %d", known.status, unknown.status)
	}
	for _, bad := range []struct{ name, address string }{{"empty", ""}, {"bad email", "jeanne@"}, {"bad phone", "12"}, {"long", strings.Repeat("a", 300)}} {
		if r := anon.do("POST", path, url.Values{"address": {bad.address}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="address-error"`) {
			t.Errorf("%s: %d", bad.name, r.status)
		}
	}
	m := f.waitOutbox("access_link", 1)
	body := parts(t, m.Raw)
	if !strings.Contains(string(m.Raw), "To: <"+meEmail+">") {
		t.Fatalf("the link went elsewhere:\n%s", m.Raw[:min(len(m.Raw), 400)])
	}
	lm := accessLinkRe.FindStringSubmatch(body)
	if lm == nil {
		t.Fatalf("no link in the message:\n%s", body)
	}
	if r := anon.get("/me/" + lm[1]); r.status != http.StatusOK || !strings.Contains(r.body, meEmail) {
		t.Fatalf("the access link: %d", r.status)
	}
	// By phone: an SMS.
	if r := anon.do("POST", path, url.Values{"address": {"06 39 98 00 42"}}); r.status != http.StatusOK {
		t.Fatalf("phone: %d", r.status)
	}
	deadline := time.Now().Add(10 * time.Second)
	var sms dispatch.OutboxMessage
	for time.Now().Before(deadline) && sms.ID == "" {
		box, _ := f.e.dispatch.Outbox(ctx, f.tn.ID, "", 50)
		for _, b := range box {
			if b.Kind == "access_link" && b.Channel == dispatch.SMS {
				sms, _ = f.e.dispatch.OutboxMessage(ctx, audit.System("test"), f.tn.ID, b.ID)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if sms.To != mePhone || !accessLinkRe.Match(sms.Raw) {
		t.Fatalf("SMS link: %+v %q", sms, sms.Raw)
	}
	// The link is sent after the answer: wait for its log entry.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		k := f.requestKinds(t)
		if k[privacy.RequestAccessLink] == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("access-link requests logged: %v", k)
		}
	}
	// Per address: the known address was asked for once; 4 more pass, the
	// next is refused.
	for i := range 4 {
		if r := anon.do("POST", path, url.Values{"address": {meEmail}}); r.status != http.StatusOK {
			t.Fatalf("request %d: %d", i+2, r.status)
		}
	}
	r := anon.do("POST", path, url.Values{"address": {meEmail}})
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Fatalf("sixth request for one address: %d", r.status)
	}
	// Per caller: 20 an hour whatever the address.
	limited := false
	for i := range 20 {
		if r := anon.do("POST", path, url.Values{"address": {"someone" + string(rune('a'+i)) + "@example.org"}}); r.status == http.StatusTooManyRequests {
			limited = true
			break
		}
	}
	if !limited {
		t.Error("no limit per caller")
	}
	f.noPersonalDataInLogs(t, "nobody@example.org")
}

// TestRequestsPage: the admin page lists the request log with a filter by
// kind and marks the requests open past their deadline; it needs the
// permission to read contacts.
func TestRequestsPage(t *testing.T) {
	f := newMeFixture(t)
	ctx := context.Background()
	anon := f.e.browser()
	anon.get("/me/" + f.token)
	f.mePost(anon, f.token, "unsubscribe", url.Values{"channel": {"sms"}})
	late, err := f.e.requests.Record(ctx, nil, audit.System("test"), f.tn.ID, privacy.Request{Kind: privacy.RequestErasure, SubjectID: f.contactID,
		Channel: privacy.ChannelEmail, ReceivedAt: time.Now().AddDate(0, -1, -3)})
	if err != nil {
		t.Fatal(err)
	}
	r := f.owner.get("/requests")
	if r.status != http.StatusOK || !strings.Contains(r.body, f.contactID) || !strings.Contains(r.body, `class="overdue"`) ||
		!strings.Contains(r.body, "/requests") || strings.Count(r.body, "<tr") < 4 {
		t.Fatalf("requests page: %d\n%s", r.status, r.body)
	}
	filtered := f.owner.get("/requests?kind=unsubscribe")
	if strings.Contains(filtered.body, `class="overdue"`) || strings.Count(filtered.body, f.contactID) != 1 {
		t.Errorf("filter by kind:\n%s", filtered.body)
	}
	if err := f.e.requests.Complete(ctx, audit.System("test"), f.tn.ID, late.ID, privacy.OutcomeDone); err != nil {
		t.Fatal(err)
	}
	if r := f.owner.get("/requests"); strings.Contains(r.body, `class="overdue"`) {
		t.Error("a completed request is still overdue")
	}
	_, _ = f.e.accounts.CreateUser(ctx, audit.System("test"), f.tn.ID, "viewer@example.com", "V", testPassword, account.RoleViewer)
	if r := f.e.loggedIn("viewer@example.com").get("/requests"); r.status != http.StatusForbidden {
		t.Errorf("a viewer reads the request log: %d", r.status)
	}
}

// TestMeWithdraw: the person withdraws their consent to publish from their
// page; another receipt id is refused; the withdrawal is logged.
func TestMeWithdraw(t *testing.T) {
	f := newMeFixture(t)
	ctx := context.Background()
	receipt := f.answer(t)
	anon := f.e.browser()
	if r := f.mePost(anon, f.token, "withdraw", url.Values{"receipt": {strings.Repeat("0", 26)}}); r.status != http.StatusNotFound {
		t.Fatalf("unknown receipt: %d", r.status)
	}
	r := f.mePost(anon, f.token, "withdraw", url.Values{"receipt": {receipt}})
	if r.status != http.StatusOK || strings.Contains(r.body, `name="receipt"`) {
		t.Fatalf("withdraw: %d\n%s", r.status, r.body)
	}
	c, err := f.e.consents.Get(ctx, f.tn.ID, receipt)
	if err != nil || c.Valid() || c.WithdrawnAt.IsZero() {
		t.Fatalf("consent after withdrawal: %+v %v", c, err)
	}
	if ok, _ := f.e.consents.MayPublish(ctx, f.tn.ID, c.ResponseID); ok {
		t.Error("the review may still be published")
	}
	if k := f.requestKinds(t); k[privacy.RequestWithdrawal] != 1 {
		t.Errorf("withdrawals logged: %v", k)
	}
}

// TestMeTooLarge: a post to the person's page over the body limit (1 MB),
// announced or streamed without a length, gets the public page saying so
// in the person's language — never the admin UI's error page — and
// changes nothing.
func TestMeTooLarge(t *testing.T) {
	f := newMeFixture(t)
	anon := f.e.browser()
	page := anon.get("/me/" + f.token)
	m := formTokenRe.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatal("no form on the page")
	}
	// Just over the limit: the server reads and drops what is left of the
	// body after answering (up to 256 KB), so the client reads the answer
	// instead of a reset connection.
	form := url.Values{"form": {m[1]}, "first_name": {strings.Repeat("A", 1<<20+50000)}, "last_name": {"Martin"}, "email": {meEmail}}
	for _, chunked := range []bool{false, true} {
		body := io.Reader(strings.NewReader(form.Encode()))
		if chunked {
			body = io.MultiReader(body) // no length known: sent chunked
		}
		req, err := http.NewRequest("POST", f.e.srv.URL+"/me/"+f.token+"/correct?lang=fr", body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r, err := anon.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(got), "1 Mo") || strings.Contains(string(got), `href="/logout"`) ||
			!strings.Contains(string(got), "/static/public.css") {
			t.Errorf("chunked=%v: %d\n%.600s", chunked, r.StatusCode, got)
		}
	}
	if got, _ := f.e.contacts.Get(context.Background(), audit.System("test"), f.tn.ID, f.contactID); got.FirstName != "Jeanne" {
		t.Fatalf("a refused post changed the contact: %+v", got)
	}
}

// TestRecordRequest: staff record a request that came by post, finding the
// person by the address on file; the request stays open with its one-month
// deadline, gets two more months once for a stated reason, and is marked
// answered. A form with problems says which field is wrong and records
// nothing; a viewer records nothing.
func TestRecordRequest(t *testing.T) {
	f := newMeFixture(t)
	ctx := context.Background()
	today := time.Now().Format(time.DateOnly)
	count := func() int {
		t.Helper()
		list, err := f.e.requests.List(ctx, f.tn.ID, privacy.RequestFilter{Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}
	before := count()
	for _, c := range []struct {
		name  string
		form  url.Values
		field string
	}{
		{"no person", url.Values{"kind": {"access"}, "channel": {"post"}, "received": {today}}, "rq-person"},
		{"unknown address", url.Values{"kind": {"access"}, "person": {"nobody@example.org"}, "channel": {"post"}, "received": {today}}, "rq-person"},
		{"unknown id", url.Values{"kind": {"access"}, "person": {db.NewID()}, "channel": {"post"}, "received": {today}}, "rq-person"},
		{"future", url.Values{"kind": {"access"}, "person": {meEmail}, "channel": {"post"}, "received": {time.Now().AddDate(0, 0, 3).Format(time.DateOnly)}}, "rq-received"},
		{"not a date", url.Values{"kind": {"access"}, "person": {meEmail}, "channel": {"post"}, "received": {"31/02/2026"}}, "rq-received"},
		{"fax", url.Values{"kind": {"access"}, "person": {meEmail}, "channel": {"fax"}, "received": {today}}, "rq-channel"},
		{"unknown kind", url.Values{"kind": {"access_link"}, "person": {meEmail}, "channel": {"post"}, "received": {today}}, "rq-kind"},
	} {
		r := f.owner.post("/requests", c.form)
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="`+c.field+`-err"`) {
			t.Errorf("%s: %d, want 422 with an error at %s\n%.400s", c.name, r.status, c.field, r.body)
		}
	}
	if n := count(); n != before {
		t.Fatalf("forms with problems recorded %d requests", n-before)
	}

	r := f.owner.post("/requests", url.Values{"kind": {"erasure"}, "person": {" " + strings.ToUpper(meEmail) + " "}, "channel": {"post"}, "received": {time.Now().AddDate(0, 0, -3).Format(time.DateOnly)}})
	if r.status != http.StatusOK {
		t.Fatalf("record: %d\n%s", r.status, r.body)
	}
	list, _ := f.e.requests.List(ctx, f.tn.ID, privacy.RequestFilter{Kind: privacy.RequestErasure, OpenOnly: true})
	if len(list) != 1 || list[0].SubjectID != f.contactID || list[0].Channel != privacy.ChannelPost {
		t.Fatalf("recorded: %+v", list)
	}
	rq := list[0]
	if want := rq.ReceivedAt.AddDate(0, 1, 0); !rq.DueAt.Equal(want) || time.Since(rq.ReceivedAt) < 71*time.Hour {
		t.Errorf("received %v, due %v", rq.ReceivedAt, rq.DueAt)
	}
	if n := strings.Count(r.body, `id="rq-person"`); n != 1 {
		t.Errorf("the page holds the recording form %d times", n)
	}
	if !strings.Contains(r.body, "/requests/"+rq.ID+"/extend") {
		t.Error("an open request in its first month offers no extension")
	}

	if r := f.owner.post("/requests/"+rq.ID+"/extend", url.Values{"reason": {privacy.ExtendNumber}}); r.status != http.StatusOK || !strings.Contains(r.body, "Prolongé de deux mois") {
		t.Fatalf("extend: %d\n%s", r.status, r.body)
	}
	if got, _ := f.e.requests.Get(ctx, f.tn.ID, rq.ID); !got.DueAt.Equal(rq.ReceivedAt.AddDate(0, 3, 0)) {
		t.Errorf("extended deadline %v", got.DueAt)
	}
	if r := f.owner.post("/requests/"+rq.ID+"/extend", url.Values{"reason": {privacy.ExtendComplex}}); r.status != http.StatusConflict {
		t.Errorf("a second extension: %d", r.status)
	}
	if r := f.owner.post("/requests/"+rq.ID+"/complete", url.Values{"outcome": {"maybe"}}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("an unknown outcome: %d", r.status)
	}
	if r := f.owner.post("/requests/"+rq.ID+"/complete", url.Values{"outcome": {privacy.OutcomeDone}}); r.status != http.StatusOK {
		t.Fatalf("complete: %d", r.status)
	}
	if got, _ := f.e.requests.Get(ctx, f.tn.ID, rq.ID); got.Open() || got.Outcome != privacy.OutcomeDone {
		t.Errorf("completed: %+v", got)
	}

	_, _ = f.e.accounts.CreateUser(ctx, audit.System("test"), f.tn.ID, "viewer2@example.com", "V", testPassword, account.RoleViewer)
	v := f.e.loggedIn("viewer2@example.com")
	if r := v.post("/requests", url.Values{"kind": {"access"}, "person": {meEmail}, "channel": {"post"}, "received": {today}}); r.status != http.StatusForbidden {
		t.Errorf("a viewer records a request: %d", r.status)
	}
	if n := count(); n != before+1 {
		t.Errorf("%d requests recorded, want 1", n-before)
	}
	f.noPersonalDataInLogs(t, meEmail)
}
