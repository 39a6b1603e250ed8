package web_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/contact"
	"avis/internal/db"
	"avis/internal/demo"
	"avis/internal/dispatch"
	"avis/internal/i18n"
	"avis/internal/journey"
	"avis/internal/privacy"
	"avis/internal/survey"
)

// answerSurvey is two pages: an NPS with a comment asked of detractors
// only (on the same page), then a CSAT, a multiple choice and a yes/no.
const answerSurvey = `{"avis_survey": 1, "name": "Après la livraison", "default_language": "fr", "languages": ["fr", "en"],
 "pages": [
  {"questions": [
   {"id": "nps", "type": "nps", "required": true,
    "text": {"fr": "Recommanderiez-vous notre boutique ?", "en": "Would you recommend our shop?"},
    "low_label": {"fr": "Pas du tout", "en": "Not at all"}, "high_label": {"fr": "Certainement", "en": "Certainly"}},
   {"id": "why", "type": "longtext", "text": {"fr": "Qu'est-ce qui n'a pas été ?", "en": "What went wrong?"},
    "condition": {"question": "nps", "op": "le", "value": 6}}
  ]},
  {"questions": [
   {"id": "delivery", "type": "csat", "required": true, "text": {"fr": "La livraison vous a-t-elle satisfait ?", "en": "Were you satisfied with the delivery?"}},
   {"id": "liked", "type": "multi", "text": {"fr": "Qu'avez-vous apprécié ?", "en": "What did you like?"},
    "choices": [{"key": "price", "text": {"fr": "Le prix", "en": "The price"}}, {"key": "speed", "text": {"fr": "La rapidité", "en": "The speed"}}]},
   {"id": "again", "type": "yesno", "text": {"fr": "Commanderiez-vous à nouveau ?", "en": "Would you order again?"}}
  ]}
 ]}`

// fiveQuestions is one page of five questions, for the page weight.
const fiveQuestions = `{"avis_survey": 1, "name": "Cinq", "default_language": "fr", "languages": ["fr"],
 "pages": [{"questions": [
   {"id": "nps", "type": "nps", "required": true, "text": {"fr": "Recommanderiez-vous notre boutique à un proche ?"},
    "low_label": {"fr": "Pas du tout probable"}, "high_label": {"fr": "Très probable"}},
   {"id": "csat", "type": "csat", "required": true, "text": {"fr": "Êtes-vous satisfait de votre commande ?"}},
   {"id": "ces", "type": "ces", "text": {"fr": "La boutique m'a facilité les choses."}},
   {"id": "what", "type": "single", "text": {"fr": "Comment nous avez-vous connus ?"},
    "choices": [{"key": "friend", "text": {"fr": "Par un proche"}}, {"key": "search", "text": {"fr": "Par un moteur de recherche"}},
                {"key": "ad", "text": {"fr": "Par une publicité"}}, {"key": "other", "text": {"fr": "Autrement"}}]},
   {"id": "comment", "type": "longtext", "text": {"fr": "Un commentaire pour finir ?"}}
 ]}]}`

// answerShop is a tenant whose delivery step invites to a survey.
type answerShop struct {
	e      *env
	tenant account.Tenant
	survey survey.Survey
	flow   demo.Flow
}

func newAnswerShop(t *testing.T, e *env, slug, doc string) *answerShop {
	t.Helper()
	ctx := context.Background()
	tn, _ := e.tenant(slug, account.RoleOwner)
	j, err := e.journeys.CreateJourney(ctx, audit.System("test"), tn.ID, "Commande", []journey.StepInput{{Key: "delivery", Name: "Livraison"}})
	if err != nil {
		t.Fatal(err)
	}
	def, err := survey.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	sv, err := e.surveys.Create(ctx, audit.System("test"), tn.ID, def)
	if err != nil {
		t.Fatal(err)
	}
	r := dispatch.DefaultRule(j.Steps[0].ID, sv.ID)
	all := [7]bool{true, true, true, true, true, true, true}
	r.EmailWindow = dispatch.Window{Days: all, From: 0, To: 1440}
	r.SMSWindow = r.EmailWindow
	rule, err := e.dispatch.SaveRule(ctx, audit.System("test"), tn.ID, r)
	if err != nil {
		t.Fatal(err)
	}
	return &answerShop{e: e, tenant: tn, survey: sv, flow: demo.Flow{JourneyID: j.ID, StepID: j.Steps[0].ID, StepKey: "delivery", SurveyID: sv.ID, RuleID: rule.ID}}
}

var surveyLinkRe = regexp.MustCompile(`/s/([A-Za-z0-9_-]{22})`)

// invite makes a contact, records their delivery and returns the token of
// the survey link found in the message in the outbox, with the contact id.
func (s *answerShop) invite(t *testing.T, email, lang string) (token, contactID string) {
	t.Helper()
	ctx := context.Background()
	e := s.e
	c, err := e.contacts.Create(ctx, audit.System("test"), s.tenant.ID, contact.Input{Email: email, FirstName: "Jeanne", LastName: "Martin", Language: lang})
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

// decodeQP undoes quoted-printable soft line breaks and escapes enough to
// find a link.
func decodeQP(s string) string {
	s = strings.ReplaceAll(s, "=\r\n", "")
	s = strings.ReplaceAll(s, "=\n", "")
	return strings.ReplaceAll(s, "=3D", "=")
}

// respondent is a person's browser on the public pages: no cookie jar.
type respondent struct {
	t    *testing.T
	base string
	c    *http.Client
	// lang is the browser's Accept-Language.
	lang string
}

func (e *env) respondent() *respondent {
	return &respondent{t: e.t, base: e.srv.URL, c: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (p *respondent) do(method, path string, form url.Values, header ...string) resp {
	p.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, p.base+path, body)
	if err != nil {
		p.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if p.lang != "" {
		req.Header.Set("Accept-Language", p.lang)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	r, err := p.c.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer r.Body.Close()
	all, _ := io.ReadAll(r.Body)
	if c := r.Header.Values("Set-Cookie"); len(c) > 0 {
		p.t.Errorf("%s %s set a cookie: %v", method, path, c)
	}
	return resp{r.StatusCode, string(all), r.Header}
}

func (p *respondent) get(path string) resp { return p.do("GET", path, nil) }

var hiddenRe = regexp.MustCompile(`<input type="hidden" name="([a-z]+)" value="([^"]*)">`)

// send fills the form of a page with answers (and its hidden fields) and
// posts it; it follows the redirect of a page accepted.
func (p *respondent) send(page resp, answers url.Values, header ...string) (post, next resp) {
	p.t.Helper()
	form := url.Values{}
	for _, m := range hiddenRe.FindAllStringSubmatch(page.body, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	if form.Get("sig") == "" {
		p.t.Fatalf("no survey form on the page (status %d):\n%s", page.status, page.body)
	}
	for k, v := range answers {
		form[k] = v
	}
	action := regexp.MustCompile(`<form method="post" action="([^"]+)"`).FindStringSubmatch(page.body)
	post = p.do("POST", html.UnescapeString(action[1]), form, header...)
	if post.status == http.StatusSeeOther {
		next = p.get(post.header.Get("Location"))
	}
	return post, next
}

func answers(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Fatalf("%s lacks %q:\n%s", what, w, body)
		}
	}
}

func mustNotContain(t *testing.T, what, body string, nots ...string) {
	t.Helper()
	for _, w := range nots {
		if strings.Contains(body, w) {
			t.Fatalf("%s shows %q:\n%s", what, w, body)
		}
	}
}

func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db.R.QueryRow(query, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// TestSurveyPageFlow is a person answering an invitation: page 1, the
// comment revealed for a detractor, page 2, back and forth without losing
// answers, leaving and resuming from the same link, a double submit of the
// last page, the thank-you page, the invitation answered, the consent to
// publish recorded with the wording shown.
func TestSurveyPageFlow(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	shop := newAnswerShop(t, e, "shop", answerSurvey)
	token, contactID := shop.invite(t, "jeanne@example.org", "fr")
	p := e.respondent()
	path := "/s/" + token

	page := p.get(path)
	if page.status != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", path, page.status, page.body)
	}
	mustContain(t, "page 1", page.body, `<html lang="fr">`, "Recommanderiez-vous notre boutique ?", "Company shop", "Page 1 sur 2",
		`name="q_nps" value="10"`, "Pas du tout", "(obligatoire)")
	mustNotContain(t, "page 1", page.body, "Qu'est-ce qui n'a pas été", "Précédent", "J&#39;accepte que mon avis")

	// A detractor: the comment appears on the same page, nothing is said missing.
	post, page := p.send(page, answers("q_nps", "3"))
	if post.status != http.StatusSeeOther {
		t.Fatalf("page 1: %d\n%s", post.status, post.body)
	}
	mustContain(t, "page 1 with the comment", page.body, "Qu&#39;est-ce qui n&#39;a pas été ?", `value="3" checked`, "Page 1 sur 2")
	mustNotContain(t, "page 1 with the comment", page.body, `role="alert"`)
	_, page = p.send(page, answers("q_nps", "3", "q_why", "Livré avec trois jours de retard."))
	mustContain(t, "page 2", page.body, "Page 2 sur 2", "La livraison vous a-t-elle satisfait ?", "Précédent", "Envoyer mes réponses",
		"J&#39;accepte que mon avis soit publié", "/legal/"+shop.tenant.ID+"/publication")

	// Previous keeps what was typed on page 2 and shows page 1 as answered.
	_, page = p.send(page, answers("q_liked", "speed", "action", "back"))
	mustContain(t, "back on page 1", page.body, "Page 1 sur 2", `value="3" checked`, "Livré avec trois jours de retard.")
	_, page = p.send(page, answers("q_nps", "3", "q_why", "Livré avec trois jours de retard."))
	mustContain(t, "page 2 again", page.body, `value="speed" checked`)

	// Leaving and coming back another day, from another browser: page 2.
	q := e.respondent()
	page = q.get(path)
	mustContain(t, "resumed", page.body, "Page 2 sur 2", `value="speed" checked`)

	// The last page, sent twice (a double click), with the consent ticked.
	last := answers("q_delivery", "4", "q_liked", "speed", "q_liked", "price", "q_again", "yes", "consent", "1")
	post1, thanks := p.send(page, last)
	post2, thanks2 := q.send(page, last)
	if post2.status == http.StatusOK {
		thanks2 = post2 // acknowledged at once: the response was complete
	}
	if post1.status != http.StatusSeeOther || (post2.status != http.StatusSeeOther && post2.status != http.StatusOK) {
		t.Fatalf("last page: %d and %d\n%s", post1.status, post2.status, post2.body)
	}
	for _, th := range []resp{thanks, thanks2, p.get(path)} {
		if th.status != http.StatusOK {
			t.Fatalf("thank-you page: %d", th.status)
		}
		mustContain(t, "thank-you page", th.body, "Merci", "/me/"+token)
	}
	if n := e.count(`SELECT COUNT(*) FROM responses WHERE tenant_id = $1`, shop.tenant.ID); n != 1 {
		t.Fatalf("%d responses, want 1", n)
	}
	list, err := e.responses.ForContact(ctx, shop.tenant.ID, contactID)
	if err != nil || len(list) != 1 {
		t.Fatalf("ForContact: %v, %v", list, err)
	}
	r := list[0]
	if !r.Complete() || r.Language != "fr" || *r.Answers["nps"].Number != 3 || r.Answers["why"].Text != "Livré avec trois jours de retard." ||
		len(r.Answers["liked"].Choices) != 2 || !*r.Answers["again"].Bool {
		t.Fatalf("stored response: %+v", r)
	}
	_, inv, err := e.dispatch.ByToken(ctx, token)
	if err != nil || inv.Status != dispatch.StatusAnswered || inv.AnsweredAt.IsZero() {
		t.Fatalf("invitation after answering: %+v, %v", inv, err)
	}
	receipts, err := e.consents.ForSubject(ctx, shop.tenant.ID, contactID)
	want := i18n.MustLoad().T("fr", "I agree that my review may be published with my first name and the initial of my last name")
	if err != nil || len(receipts) != 1 || receipts[0].Wording != want || receipts[0].ResponseID != r.ID || receipts[0].Language != "fr" ||
		receipts[0].Purpose != privacy.PurposePublishReview {
		t.Fatalf("consent receipts: %+v, %v", receipts, err)
	}
	if r.NoticeID == "" || receipts[0].NoticeID != r.NoticeID || receipts[0].NoticeHash == "" {
		t.Errorf("notice not recorded: response %q, receipt %q/%q", r.NoticeID, receipts[0].NoticeID, receipts[0].NoticeHash)
	}
	// The replay of a page after completion changes nothing.
	post, _ = p.send(page, answers("q_delivery", "1"))
	if post.status != http.StatusOK && post.status != http.StatusSeeOther {
		t.Fatalf("replay: %d", post.status)
	}
	if again, _ := e.responses.Get(ctx, shop.tenant.ID, r.ID); *again.Answers["delivery"].Number != 4 {
		t.Fatal("a replay after completion changed the answers")
	}
}

// TestSurveyPageNoConsent completes a survey without ticking the box: no
// receipt, the review may not be published.
func TestSurveyPageNoConsent(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	shop := newAnswerShop(t, e, "shop", answerSurvey)
	token, contactID := shop.invite(t, "paul@example.org", "fr")
	p := e.respondent()
	page := p.get("/s/" + token)
	_, page = p.send(page, answers("q_nps", "9"))
	mustContain(t, "page 2 of a promoter", page.body, "Page 2 sur 2")
	mustContain(t, "the consent box", page.body, `<input type="checkbox" name="consent" value="1">`)
	_, thanks := p.send(page, answers("q_delivery", "5"))
	mustContain(t, "thank-you page", thanks.body, "Merci")
	if got, _ := e.consents.ForSubject(ctx, shop.tenant.ID, contactID); len(got) != 0 {
		t.Fatalf("receipts without the box ticked: %+v", got)
	}
	list, _ := e.responses.ForContact(ctx, shop.tenant.ID, contactID)
	if ok, _ := e.consents.MayPublish(ctx, shop.tenant.ID, list[0].ID); ok {
		t.Fatal("a review without consent may be published")
	}
}

// TestSurveyPageProblems sends bad answers: each gets a clear message at
// the top (linking to the field) and next to the field, and nothing is
// stored; forged forms and foreign origins are refused.
func TestSurveyPageProblems(t *testing.T) {
	e := newEnv(t)
	shop := newAnswerShop(t, e, "shop", answerSurvey)
	token, _ := shop.invite(t, "lea@example.org", "en")
	p := e.respondent()
	page := p.get("/s/" + token)
	mustContain(t, "page 1 in English", page.body, `<html lang="en">`, "Would you recommend our shop?")

	for _, c := range []struct {
		name    string
		answers url.Values
		field   string
		message string
	}{
		{"nothing", answers(), "nps", "Please answer this question."},
		{"out of range", answers("q_nps", "11"), "nps", "Choose a value from 0 to 10."},
		{"not a number", answers("q_nps", "ten"), "nps", "Choose a value from 0 to 10."},
		{"two values", answers("q_nps", "1", "q_nps", "2"), "nps", "Choose only one option."},
	} {
		post, _ := p.send(page, c.answers)
		if post.status != http.StatusUnprocessableEntity {
			t.Fatalf("%s: status %d", c.name, post.status)
		}
		mustContain(t, c.name, post.body, `role="alert"`, `href="#q-`+c.field+`-0"`, `id="q-`+c.field+`-err"`, c.message,
			`aria-describedby="q-`+c.field+`-ends q-`+c.field+`-err"`, `aria-invalid="true"`)
	}
	if n := e.count(`SELECT COUNT(*) FROM response_answers`); n != 0 {
		t.Fatalf("%d answers stored from pages with problems", n)
	}
	// Too long a comment, with HTML in it: said next to the field, shown back escaped.
	_, page1 := p.send(page, answers("q_nps", "2"))
	long := "<script>alert(1)</script>" + strings.Repeat("é", 5000)
	post, _ := p.send(page1, answers("q_nps", "2", "q_why", long))
	if post.status != http.StatusUnprocessableEntity {
		t.Fatalf("too long: %d", post.status)
	}
	mustContain(t, "too long", post.body, "Shorten your answer to at most 5000 characters.", `id="q-why-err"`, "&lt;script&gt;alert(1)&lt;/script&gt;")
	mustNotContain(t, "too long", post.body, "<script>alert(1)")
	if n := e.count(`SELECT COUNT(*) FROM response_answers WHERE question_id = 'why'`); n != 0 {
		t.Fatalf("a comment too long was stored")
	}

	// A form this server did not make: no signature, a wrong one, another page's.
	for name, change := range map[string]func(url.Values){
		"no signature":    func(f url.Values) { f.Del("sig") },
		"wrong signature": func(f url.Values) { f.Set("sig", "AAAAAAAAAAAAAAAAAAAAAA") },
		"another page":    func(f url.Values) { f.Set("page", "1") },
		"another version": func(f url.Values) { f.Set("v", "2") },
	} {
		form := url.Values{}
		for _, m := range hiddenRe.FindAllStringSubmatch(page.body, -1) {
			form.Set(m[1], html.UnescapeString(m[2]))
		}
		form.Set("q_nps", "8")
		change(form)
		if r := p.do("POST", "/s/"+token, form); r.status != http.StatusForbidden || !strings.Contains(r.body, "This form could not be accepted") {
			t.Errorf("%s: %d\n%s", name, r.status, r.body)
		}
	}
	if r, _ := p.send(page, answers("q_nps", "8"), "Origin", "https://evil.example"); r.status != http.StatusForbidden {
		t.Errorf("a POST from another site: %d", r.status)
	}
	if n := e.count(`SELECT COUNT(*) FROM response_answers WHERE question_id = 'nps' AND number = 8`); n != 0 {
		t.Fatalf("a refused form was stored")
	}
	// The same page posted with the browser's own origin is taken.
	if r, _ := p.send(page, answers("q_nps", "8"), "Origin", e.srv.URL); r.status != http.StatusSeeOther {
		t.Errorf("a POST from the page itself: %d\n%s", r.status, r.body)
	}
}

// TestSurveyPageTokens: a forged, a mistyped, an expired and a used link
// each get a clear page in the person's language with the right status.
func TestSurveyPageTokens(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	shop := newAnswerShop(t, e, "shop", answerSurvey)
	expired, _ := shop.invite(t, "a@example.org", "fr")
	if _, err := e.db.W.Exec(`UPDATE invitations SET expires_at = $1 WHERE token_hash = $2`, db.Stamp(time.Now().Add(-time.Hour)), dispatch.TokenHash(expired)); err != nil {
		t.Fatal(err)
	}
	used, _ := shop.invite(t, "b@example.org", "fr")
	_, inv, _ := e.dispatch.ByToken(ctx, used)
	if _, err := dispatch.MarkAnswered(ctx, e.db.W, shop.tenant.ID, inv.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	p := e.respondent()
	p.lang = "de-DE,de;q=0.9"
	for _, c := range []struct {
		name, path string
		status     int
		want       string
	}{
		{"forged", "/s/" + strings.Repeat("A", 22), http.StatusNotFound, "Dieser Link ist ungültig"},
		{"mistyped", "/s/abc", http.StatusNotFound, "Dieser Link ist ungültig"},
		// The invitation's language is the person's: French.
		{"expired", "/s/" + expired, http.StatusGone, "Cette enquête est close"},
		{"used", "/s/" + used, http.StatusOK, "Merci"},
		{"public link off", "/s/p/" + shop.survey.ID, http.StatusNotFound, "Dieser Link ist ungültig"},
		{"public link of nothing", "/s/p/nothing", http.StatusNotFound, "Dieser Link ist ungültig"},
	} {
		for _, method := range []string{"GET", "POST"} {
			var form url.Values
			if method == "POST" {
				form = answers("q_nps", "5")
			}
			r := p.do(method, c.path, form)
			if r.status != c.status || !strings.Contains(r.body, c.want) {
				t.Errorf("%s %s: %d, want %d with %q\n%s", c.name, method, r.status, c.status, c.want, r.body)
			}
			mustNotContain(t, c.name, r.body, "goroutine", "sql:", "panic")
		}
	}
	if n := e.count(`SELECT COUNT(*) FROM responses`); n != 0 {
		t.Fatalf("%d responses through dead links", n)
	}
}

// TestSurveyPageLanguage: the invitation's language first, the language
// menu next; a language the survey lacks shows its texts in the default
// language, marked as such.
func TestSurveyPageLanguage(t *testing.T) {
	e := newEnv(t)
	shop := newAnswerShop(t, e, "shop", answerSurvey)
	token, _ := shop.invite(t, "it@example.org", "it") // the survey has no Italian
	p := e.respondent()
	p.lang = "en-GB,en;q=0.8"
	page := p.get("/s/" + token)
	mustContain(t, "no Italian: the browser's English", page.body, `<html lang="en">`, "Would you recommend our shop?")
	page = p.get("/s/" + token + "?lang=it")
	mustContain(t, "Italian asked for", page.body, `<html lang="it">`, `<span lang="fr">Recommanderiez-vous notre boutique ?</span>`, "(obbligatoria)",
		`action="/s/`+token+`?lang=it"`)
	_, next := p.send(page, answers("q_nps", "10"))
	mustContain(t, "page 2 in Italian", next.body, `<html lang="it">`, "Pagina 2 di 2")
}

// TestSurveyPageWeight: a five-question page and its stylesheets weigh
// less than 30,000 bytes.
func TestSurveyPageWeight(t *testing.T) {
	e := newEnv(t)
	shop := newAnswerShop(t, e, "shop", fiveQuestions)
	token, _ := shop.invite(t, "poids@example.org", "fr")
	p := e.respondent()
	page := p.get("/s/" + token)
	if page.status != http.StatusOK || strings.Count(page.body, "<fieldset") != 4 || !strings.Contains(page.body, "<textarea") {
		t.Fatalf("five-question page: %d\n%s", page.status, page.body)
	}
	total := len(page.body)
	sheets := regexp.MustCompile(`<link rel="stylesheet" href="([^"]+)"`).FindAllStringSubmatch(page.body, -1)
	if len(sheets) == 0 {
		t.Fatal("no stylesheet on the page")
	}
	for _, s := range sheets {
		r := p.get(html.UnescapeString(s[1]))
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d", s[1], r.status)
		}
		total += len(r.body)
	}
	if regexp.MustCompile(`<script|src="https?:|<link[^>]+href="https?:`).MatchString(page.body) {
		t.Error("the survey page loads a script or something from another site")
	}
	t.Logf("survey page %d bytes, with stylesheets %d bytes", len(page.body), total)
	if total >= 30000 {
		t.Fatalf("the survey page and its stylesheets weigh %d bytes; the budget is 30,000", total)
	}
}

// TestSurveyPublicLink: the owner switches a survey's public link on;
// anyone answers it anonymously, resuming with the token in the address; a
// robot filling the honeypot is thanked and nothing is stored; a flood from
// one address gets 429 with Retry-After.
func TestSurveyPublicLink(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	shop := newAnswerShop(t, e, "shop", answerSurvey)
	owner := e.loggedIn("shop-owner@example.com")
	path := "/s/p/" + shop.survey.ID
	p := e.respondent()
	if r := p.get(path); r.status != http.StatusNotFound {
		t.Fatalf("public link before it is on: %d", r.status)
	}
	admin := owner.get("/surveys/" + shop.survey.ID + "/public")
	mustContain(t, "public link page", admin.body, path)
	if r := owner.post("/surveys/"+shop.survey.ID+"/public", url.Values{"enabled": {"1"}, "csrf": {owner.csrf("/surveys/" + shop.survey.ID + "/public")}}); r.status != http.StatusSeeOther {
		t.Fatalf("switch on: %d\n%s", r.status, r.body)
	}
	mustContain(t, "editor", owner.get("/surveys/"+shop.survey.ID).body, `href="/surveys/`+shop.survey.ID+`/public"`)

	p.lang = "en"
	page := p.get(path)
	mustContain(t, "public page 1", page.body, "Would you recommend our shop?", `name="website"`)
	mustNotContain(t, "public page 1", page.body, "/me/")
	post, page := p.send(page, answers("q_nps", "10"))
	loc := post.header.Get("Location")
	if post.status != http.StatusSeeOther || !regexp.MustCompile(`^`+regexp.QuoteMeta(path)+`\?r=[A-Za-z0-9_-]{22}$`).MatchString(loc) {
		t.Fatalf("first public page: %d %q", post.status, loc)
	}
	mustContain(t, "public page 2", page.body, "Page 2 of 2")
	mustNotContain(t, "public page 2", page.body, `name="consent"`)
	// Resumed from the address alone.
	mustContain(t, "resumed", e.respondent().get(loc).body, "Page 2 of 2")
	_, thanks := p.send(page, answers("q_delivery", "5"))
	mustContain(t, "public thank-you", thanks.body, "Thank you")
	if n := e.count(`SELECT COUNT(*) FROM responses WHERE source = 'public' AND status = 'complete' AND contact_id = ''`); n != 1 {
		t.Fatalf("%d complete public responses, want 1", n)
	}

	// The honeypot: thanked, nothing stored.
	page = p.get(path)
	r, _ := p.send(page, answers("q_nps", "7", "website", "http://spam.example"))
	if r.status != http.StatusOK || !strings.Contains(r.body, "Thank you") {
		t.Fatalf("honeypot: %d", r.status)
	}
	if n := e.count(`SELECT COUNT(*) FROM responses`); n != 1 {
		t.Fatalf("%d responses after the honeypot, want 1", n)
	}

	// A flood: 20 new responses in 10 minutes from one address, then 429.
	for i := 1; i < 20; i++ {
		if r, _ := p.send(page, answers("q_nps", fmt.Sprint(i%11))); r.status != http.StatusSeeOther {
			t.Fatalf("response %d: %d", i+1, r.status)
		}
	}
	r, _ = p.send(page, answers("q_nps", "1"))
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "Too many answers at once") {
		t.Fatalf("21st response: %d, Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	if n := e.count(`SELECT COUNT(*) FROM responses`); n != 20 {
		t.Fatalf("%d responses, want 20", n)
	}
	// The link switched off: closed to everyone.
	if err := e.responses.SetPublicLink(ctx, audit.System("test"), shop.tenant.ID, shop.survey.ID, false); err != nil {
		t.Fatal(err)
	}
	if r := p.get(loc); r.status != http.StatusNotFound {
		t.Fatalf("resume after switching off: %d", r.status)
	}
}

// TestSurveyPageDemo: the invitations that `make run` seeds (demo.SeedFlow
// and demo.Events) open a working survey page, answered to the end.
func TestSurveyPageDemo(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tn, _ := e.tenant("demo", account.RoleOwner)
	flow, err := demo.SeedFlow(ctx, e.journeys, e.surveys, e.dispatch, tn.ID, demo.FlowOptions{AnyHour: true, Reminders: 1})
	if err != nil {
		t.Fatal(err)
	}
	sv, err := e.surveys.Get(ctx, tn.ID, flow.SurveyID)
	if err != nil {
		t.Fatal(err)
	}
	shop := &answerShop{e: e, tenant: tn, survey: sv, flow: flow}
	token, _ := shop.invite(t, "demo.client@example.org", "fr")
	p := e.respondent()
	page := p.get("/s/" + token)
	if page.status != http.StatusOK {
		t.Fatalf("demo survey page: %d\n%s", page.status, page.body)
	}
	mustContain(t, "demo page 1", page.body, "Recommanderiez-vous notre boutique à un proche ?", "Company demo")
	_, page = p.send(page, answers("q_nps", "10"))
	mustContain(t, "demo page 2", page.body, "Êtes-vous satisfait de la livraison ?")
	_, page = p.send(page, answers("q_delivery", "5", "q_comment", "Parfait"))
	mustContain(t, "demo thank-you", page.body, "Merci")
}
